"""Settings: one module, configured from the environment with safe local defaults (code: settings_support).

Local defaults need no server: SQLite for the database and a SQLite file as the Celery broker.
Production (DEBUG off) refuses to start on insecure values.

Layout: Django, the database and logins first; then the product's knobs by layer, bottom up (the audit chain,
MLflow and the mirror, model cards and comparison, governance, pages and API); then Celery, the REST API,
security headers and mail.
"""

from datetime import timedelta
from pathlib import Path

import environ

from registry_ui.settings_api import SPECTACULAR_SETTINGS  # noqa: F401 — the OpenAPI schema's (drf-spectacular)
from registry_ui.settings_events import outbound_settings
from registry_ui.settings_packaging import packaging_settings
from registry_ui.settings_reconcile import reconcile_settings
from registry_ui.settings_sso import sso_settings
from registry_ui.settings_support import (
    INSECURE_SECRET_KEY,
    INSECURE_WEBHOOK_SECRET,
    local_audit_chain_key,
    owner_only_local_state,
    refuse_insecure_production,
)
from registry_ui.settings_tokens import token_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)  # optional; missing file is fine

# Local state of the embedded defaults (SQLite files, the local MLflow store); git-ignored.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

APP_VERSION = "0.1.0"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where users reach the app: e-mails carry absolute links built on it (no request to take the host from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "accounts",
    "mirror",
    "cards",
    "approvals",
    "audit",
    "lineage",
    "events",
    "packager",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "common.middleware.ContentSecurityPolicyMiddleware",
    "common.middleware.RejectNulMiddleware",  # a NUL in the URL is a 400, never a database error
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Names the acting user on audit events recorded from signals (role changes in the admin).
    "audit.middleware.AuditActorMiddleware",
    "audit.sso_gate.NoRoleGate",  # a single sign-on login whose groups map to no role: a 403 saying so
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A database connection lost under a view is a 503 (JSON under /api/), not a 500.
    "common.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry_ui.urls"
WSGI_APPLICATION = "registry_ui.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mirror.context_processors.mirror",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'registry.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web process, the worker and beat share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file beside the database rather than Django's in-memory default, so that the Celery
    # worker processes a test starts share the test database.
    _db_file = Path(DATABASES["default"]["NAME"])
    if str(_db_file) != ":memory:":
        DATABASES["default"].setdefault("TEST", {}).setdefault(
            "NAME", str(_db_file.with_name(f"test_{_db_file.name}"))
        )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "registry_ui.auth.LoginLockoutBackend",  # django-axes first: a locked-out login never reaches the check
    "registry_ui.oidc.SsoBackend",  # single sign-on (OpenID Connect), when OIDC_* are set: settings_sso.py
    "django.contrib.auth.backends.ModelBackend",
]
# Brute-force protection. Logins (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from
# one address (the two together: a guesser elsewhere cannot lock a user out), that username is locked at that
# address for LOGIN_LOCKOUT_MINUTES (even with the right password), and the lockout is an audit event
# (audit.lockouts); a success resets the count. Signatures (approvals.signing): per user and per address, apart.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair locks, not either alone
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client address is REMOTE_ADDR unless TRUSTED_PROXY_COUNT proxies in front set X-Forwarded-For (a
# client-sent header must not let an attacker pick a fresh address for every guess).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
SIGNING_FAILURE_LIMIT = env.int("SIGNING_FAILURE_LIMIT", default=AXES_FAILURE_LIMIT)
SIGNING_LOCKOUT_MINUTES = env.float("SIGNING_LOCKOUT_MINUTES", default=AXES_COOLOFF_TIME.total_seconds() / 60)

vars().update(sso_settings(env))  # OIDC_* and SSO_*: off unless the provider is configured

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "registry_ui.staticfiles.CompressedManifestStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- Audit chain ----------------------------------------------------------------------------------
# The key that seals every audit event (HMAC-SHA256) and signs the checkpoints. It must never be stored in
# the database: whoever holds the database must not be able to recompute the chain. Locally (DEBUG on) a
# random key is generated once into a 0600 file under VAR_DIR; production refuses to start without one.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")
AUDIT_CHAIN_KEY_FILE = VAR_DIR / "audit-chain.key"
# Signed checkpoints (seq, head hash, time) are appended here, outside the database: a directory on
# another volume or a mounted object-store path, backed up apart from the database.
AUDIT_CHECKPOINT_DIR = env.path("AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints"))
AUDIT_CHECKPOINT_INTERVAL_SECONDS = env.int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", default=60)
# Events older than this that no checkpoint covers mean checkpoints are not being written (beat down, or the
# checkpoint directory lost): verification fails, because such events could be deleted undetected.
AUDIT_CHECKPOINT_MAX_LAG_SECONDS = env.int(
    "AUDIT_CHECKPOINT_MAX_LAG_SECONDS", default=max(900, 10 * AUDIT_CHECKPOINT_INTERVAL_SECONDS)
)

# --- MLflow and the mirror ------------------------------------------------------------------------
MLFLOW_TRACKING_URI = env.str("MLFLOW_TRACKING_URI", default="http://127.0.0.1:5500")
# Link target for "open in MLflow"; defaults to the tracking URI (differs behind a proxy).
MLFLOW_UI_URL = env.str("MLFLOW_UI_URL", default=MLFLOW_TRACKING_URI)
MLFLOW_WEBHOOK_SECRET = env.str("MLFLOW_WEBHOOK_SECRET", default=INSECURE_WEBHOOK_SECRET)
MLFLOW_WEBHOOK_MAX_SKEW_SECONDS = 300
MLFLOW_TIMEOUT_SECONDS = env.float("MLFLOW_TIMEOUT_SECONDS", default=10.0)
MLFLOW_MAX_RETRIES = env.int("MLFLOW_MAX_RETRIES", default=2)
MLFLOW_PAGE_SIZE = env.int("MLFLOW_PAGE_SIZE", default=1000)
MLFLOW_RUN_BATCH = env.int("MLFLOW_RUN_BATCH", default=100)
RECONCILE = reconcile_settings(env)
vars().update(RECONCILE)  # RECONCILE_*: the incremental reconcile, the full sweep, the overlap
# A sync still "running" this long after it started lost its worker (above the task's hard time limit): the
# next reconcile marks it failed.
SYNC_LOST_AFTER_MINUTES = env.int("SYNC_LOST_AFTER_MINUTES", default=60)
# A mirror whose last successful sync is older than this is shown as stale.
MIRROR_STALE_AFTER_SECONDS = env.int(
    "MIRROR_STALE_AFTER_SECONDS", default=max(180, 3 * RECONCILE["RECONCILE_INTERVAL_SECONDS"])
)

# --- Model cards and comparison -------------------------------------------------------------------
# Model card limits (DESIGN.md threat model: no input holds a worker for more than seconds). Rendering is
# linear; at this size the worst adversarial card renders in well under a second (make bench-cards).
CARD_MAX_BYTES = env.int("CARD_MAX_BYTES", default=256 * 1024)
CARD_FRONT_MATTER_MAX_BYTES = env.int("CARD_FRONT_MATTER_MAX_BYTES", default=16 * 1024)
# Live previews per user and minute (each renders the card); typing sends at most one per 0.4 s pause.
CARD_PREVIEWS_PER_MINUTE = env.int("CARD_PREVIEWS_PER_MINUTE", default=60)
# Metric names where lower is better when a model does not say (comparison highlighting).
LOWER_IS_BETTER_METRICS = env.list(
    "LOWER_IS_BETTER_METRICS", default=["rmse", "mae", "mse", "log_loss", "loss", "error", "test_log_loss"]
)

# --- Governance: policy, gates, outbox --------------------------------------------------------------
POLICY_PATH = env.path("POLICY_PATH", default=str(BASE_DIR / "policies.yaml"))
# A gate whose input is not mirrored yet (a new version's artifacts) waits this long, then fails with the reason.
GATE_DATA_WAIT_SECONDS = env.int("GATE_DATA_WAIT_SECONDS", default=300)
GATE_SWEEP_SECONDS = env.int("GATE_SWEEP_SECONDS", default=30)  # a lost gate run is re-sent after this
# How often beat re-sends promotion applies (and the mirror outbox's other MLflow writes, such as version tags)
# whose task message was lost (MLflow-down retries re-schedule themselves); a claimed apply is not taken again
# (by another worker or the sweep) for OUTBOX_LEASE_SECONDS; an apply that could not reach MLflow is retried
# after 2^attempts seconds, at most the max backoff.
OUTBOX_SWEEP_SECONDS = env.int("OUTBOX_SWEEP_SECONDS", default=30)
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=60)
OUTBOX_MAX_BACKOFF_SECONDS = env.int("OUTBOX_MAX_BACKOFF_SECONDS", default=60)

# --- Lineage ----------------------------------------------------------------------------------------
# A lineage graph reaches at most LINEAGE_MAX_DEPTH hops from the version (parent runs: one query per hop) and
# holds at most LINEAGE_MAX_NODES nodes (the nearest kept): a larger ?depth= or graph is clamped, and said so.
LINEAGE_MAX_DEPTH = env.int("LINEAGE_MAX_DEPTH", default=6)
LINEAGE_MAX_NODES = env.int("LINEAGE_MAX_NODES", default=2000)
# Set by the operators: an OpenLineage endpoint (Marquez: http://host:5000) that receives the run events of each
# version as it is registered (POST <url>/api/v1/lineage, by a worker, retried); empty: nothing is pushed.
OPENLINEAGE_URL = env.str("OPENLINEAGE_URL", default="")

# OUTBOUND_*: the outbound events, OUTBOUND_SECRETS_KEY required when DEBUG is off (settings_events)
vars().update(outbound_settings(env, debug=DEBUG, var_dir=VAR_DIR))
PACKAGING = packaging_settings(env)
vars().update(PACKAGING)  # PACKAGE_*: the packaging jobs' limits, lease and parity tolerance

# --- Pages and API --------------------------------------------------------------------------------
# Rows per page of the lists on pages (models, versions, promotions, the audit log) and in the API, where a
# client may ask for up to API_MAX_PAGE_SIZE (?page_size=); the sync history pages by SYNC_RUNS_PAGE_SIZE.
PAGE_SIZE = env.int("PAGE_SIZE", default=50)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=500)
SYNC_RUNS_PAGE_SIZE = env.int("SYNC_RUNS_PAGE_SIZE", default=25)
# JSON request bodies (API and webhook): deeper nesting is refused with a 400 before anything recurses.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)

# --- Celery ---------------------------------------------------------------------------------------
# Without REDIS_URL the broker is a SQLite file through kombu's SQLAlchemy transport: durable (a queued
# task survives a restart), shared by separate worker/beat/web processes through the file, and it needs
# no server. SQLAlchemy is already installed as an MLflow dependency.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None  # long work is a row with its own state; no result backend needed
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT = "registry_ui.broker:Transport" if REDIS_URL.startswith("redis://") else None
# Redis redelivers an unacknowledged task after the visibility timeout: keep it above the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60} if REDIS_URL else {}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    **RECONCILE["RECONCILE_BEAT"],  # the incremental reconcile and the full sweep (settings_reconcile)
    "sweep-promotion-gates": {
        "task": "approvals.tasks.sweep_gates_task",
        "schedule": float(GATE_SWEEP_SECONDS),
    },
    "sweep-promotion-outbox": {
        "task": "approvals.tasks.sweep_outbox_task",
        "schedule": float(OUTBOX_SWEEP_SECONDS),
    },
    # The mirror's outbox (mirror.outbox: version tags such as `semver`), on the same schedule.
    "sweep-mirror-outbox": {
        "task": "registry_ui.tasks.sweep_mlflow_writes_task",
        "schedule": float(OUTBOX_SWEEP_SECONDS),
    },
    "sweep-event-deliveries": {"task": "events.tasks.sweep_deliveries_task", "schedule": 60.0},
    "sweep-package-jobs": PACKAGING["PACKAGE_SWEEP_BEAT"],  # jobs whose worker died go to another
    # Signs the chain's head into AUDIT_CHECKPOINT_DIR (only when it moved).
    "audit-checkpoint": {
        "task": "approvals.audit.tasks.write_checkpoint_task",
        "schedule": float(AUDIT_CHECKPOINT_INTERVAL_SECONDS),
    },
}

vars().update(token_settings(env))  # API_TOKEN_*: lifetimes and last-use writes (settings_tokens)
# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so anonymous requests get 401 with WWW-Authenticate rather than 403.
        "accounts.authentication.HashedTokenAuthentication",  # hashed keys (accounts/keys.py)
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "common.api_pagination.StandardPagination",
    "PAGE_SIZE": PAGE_SIZE,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "URL_FORMAT_OVERRIDE": None,  # the card export uses ?format=
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "EXCEPTION_HANDLER": "common.api_errors.exception_handler",
    # Bounded JSON (size and depth) instead of DRF's JSONParser, whose json.load overflowed the stack.
    "DEFAULT_PARSER_CLASSES": [
        "common.safejson.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "common.error_views.csrf_failure"  # the styled 403 page, JSON under /api/
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; keep default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# Swagger UI (drf-spectacular's view) needs an inline bootstrap script and inline styles.
CONTENT_SECURITY_POLICY_EXEMPT_PREFIXES = ["/api/docs/"]

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Only `make run` turns these off: it serves plain http on the loopback interface (no TLS to require).
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # [deploy] Preloading commits the operator's whole domain (subdomains included) to HTTPS in
    # browsers' built-in lists, which is slow to undo: it stays an explicit opt-in above, so
    # `check --deploy` must not nag about the default (security.W021).
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # [deploy] Reached in plain http inside the private network, never through the TLS proxy: the
    # container healthcheck, and MLflow delivering webhooks to http://web:8000/webhooks/mlflow/
    # (HMAC-signed, see mirror/webhooks.py). A redirect to https would break both.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^webhooks/mlflow/$"]
    refuse_insecure_production(
        secret_key=SECRET_KEY,
        webhook_secret=MLFLOW_WEBHOOK_SECRET,
        audit_chain_key=AUDIT_CHAIN_KEY,
        allowed_hosts=ALLOWED_HOSTS,
    )
elif not AUDIT_CHAIN_KEY:
    AUDIT_CHAIN_KEY = local_audit_chain_key(AUDIT_CHAIN_KEY_FILE)

# --- Mail -----------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="registry-governance@localhost")
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="") if env.str("EMAIL_URL", default="") else {}
vars().update(EMAIL_CONFIG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},  # its INFO lines narrate every layout step of every PDF
        "fontTools": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},  # a banner on every process start; lockouts still log as warnings
    },
}


owner_only_local_state(VAR_DIR, database=DATABASES["default"], broker_url=CELERY_BROKER_URL)
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
