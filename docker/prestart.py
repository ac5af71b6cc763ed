"""Container start-up: wait for the database, then migrate if MIGRATE_ON_START is true.

Several web replicas may start at once: on PostgreSQL the migration runs under an advisory lock, so
one replica migrates and the others wait for it and then find nothing to do.
"""

import os
import sys
import time
from pathlib import Path

# Run as `python docker/prestart.py`: the project root, not docker/, must be importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.core.management import call_command
from django.db import OperationalError, connection

# Any constant works; it only has to be the same for every replica (it reads "regmigra").
MIGRATION_LOCK_ID = 0x7265676D69677261


def wait_for_database(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"prestart: database still unreachable after {timeout:.0f} s: {exc}")
            print(f"prestart: waiting for the database ({str(exc).strip()[:120]})", flush=True)
            connection.close()
            time.sleep(2)


def migrate() -> None:
    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_ID])
    try:
        call_command("migrate", interactive=False)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_ID])


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_ui.settings")
    django.setup()
    wait_for_database(float(os.environ.get("DB_WAIT_SECONDS", "60")))
    if os.environ.get("MIGRATE_ON_START", "").lower() in {"1", "true", "yes"}:
        migrate()
    connection.close()


if __name__ == "__main__":
    main()
