# syntax=docker/dockerfile:1
# The app image: web (gunicorn), worker and beat (Celery) all run from it (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=registry_ui.settings \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/app/var/media \
    STATIC_ROOT=/app/staticfiles

# Pango/HarfBuzz and a font for WeasyPrint (PDF model-card exports); nothing else is needed at run time
# (psycopg ships its own libpq in the binary wheel).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that code changes do not reinstall them.
# pyproject.toml declares no Python packages (`packages = []`): `pip install .` installs the
# dependencies and the code runs from /app, like `manage.py` does in a checkout.
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Static files are collected (hashed and compressed by WhiteNoise's manifest storage, which DEBUG=false
# selects) at build time. Settings refuse insecure values when DEBUG is off, so the build passes
# throw-away ones; collectstatic touches neither the database nor MLflow.
RUN DEBUG=false \
    SECRET_KEY="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    MLFLOW_WEBHOOK_SECRET="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    AUDIT_CHAIN_KEY="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    OUTBOUND_SECRETS_KEY="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3 \
    && chmod 0755 docker/entrypoint.sh \
    && mkdir -p /app/var/media /app/var/audit-checkpoints \
    && chown -R app:app /app/var

USER app
EXPOSE 8000

ENTRYPOINT ["/app/docker/entrypoint.sh"]
# --worker-tmp-dir: gunicorn's heartbeat files on tmpfs rather than the container's overlay disk.
CMD ["gunicorn", "registry_ui.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--worker-tmp-dir", "/dev/shm", "--timeout", "60", "--access-logfile", "-"]
