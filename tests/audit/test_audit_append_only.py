"""The audit table is append-only: PostgreSQL and SQLite refuse UPDATE, DELETE and TRUNCATE of events (raw SQL
or the ORM), the migration installs exactly the guard triggers, and a flush is allowed only for tests."""

from __future__ import annotations

import sqlite3

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import triggers
from audit.canonical import GENESIS
from audit.models import AuditEvent
from audit.verification import verify
from tests.support.audit import append, assert_refused

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.postgres_only  # skipped on other databases (tests/conftest.py)


# --- the database refuses changes -----------------------------------------------------------------
@needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = 1",
        "UPDATE audit_auditevent SET data = '{}'",
        "DELETE FROM audit_auditevent WHERE seq = 2",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_postgres_refuses_raw_update_delete_and_truncate(sql):
    append(3)
    assert_refused(sql)
    assert AuditEvent.objects.count() == 3
    assert verify().ok


@needs_postgres
def test_postgres_refuses_changes_through_the_orm_too():
    event = append(1)[0]
    event.actor = "mallory"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().actor == "alice"


def test_the_guard_triggers_are_installed_by_the_migration():
    assert triggers.installed(connection)


class _SqliteEditor:
    """Just enough of a schema editor to run the migration's RunPython on a raw sqlite3 connection."""

    class _Connection:
        vendor = "sqlite"

    connection = _Connection()

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw

    def execute(self, sql, params=None):
        self.raw.execute(sql, params or ())


def _sqlite_with_migrations(path):
    """A SQLite database with the audit app's real migrations applied (0001 table, 0002 triggers)."""
    from django.db.migrations.executor import MigrationExecutor
    from django.db.utils import ConnectionHandler

    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}})
    conn = handler["default"]
    try:
        executor = MigrationExecutor(conn)
        executor.migrate([("audit", "0002_append_only_triggers")])
    finally:
        conn.close()


def _insert_raw(raw: sqlite3.Connection, seq: int) -> None:
    raw.execute(
        "INSERT INTO audit_auditevent (seq, at, actor, action, object_type, object_id, data, prev_hash, hash) "
        "VALUES (?, '2026-01-01 00:00:00', 'alice', 'test.x', 't', '1', '{}', ?, ?)",
        (seq, GENESIS, f"{seq:064x}"),
    )
    raw.commit()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = 1",
        "UPDATE audit_auditevent SET data = '{}'",
        "DELETE FROM audit_auditevent WHERE seq = 1",
        "DELETE FROM audit_auditevent",
    ],
)
def test_sqlite_refuses_raw_update_and_delete(tmp_path, sql):
    path = tmp_path / "audit.sqlite3"
    _sqlite_with_migrations(path)
    raw = sqlite3.connect(path)
    _insert_raw(raw, 1)
    _insert_raw(raw, 2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute(sql)
    raw.rollback()
    assert raw.execute("SELECT count(*), min(actor) FROM audit_auditevent").fetchone() == (2, "alice")
    raw.close()


def test_the_sqlite_migration_runs_exactly_the_trigger_sql(tmp_path):
    from importlib import import_module

    migration = import_module("audit.migrations.0002_append_only_triggers").Migration
    raw = sqlite3.connect(tmp_path / "bare.sqlite3")
    raw.execute("CREATE TABLE audit_auditevent (seq integer PRIMARY KEY, actor text)")
    migration.operations[0].code(None, _SqliteEditor(raw))
    names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert names == {"audit_event_no_update", "audit_event_no_delete"}
    raw.execute("INSERT INTO audit_auditevent VALUES (1, 'alice')")
    with pytest.raises(sqlite3.IntegrityError, match="UPDATE on audit_auditevent refused"):
        raw.execute("UPDATE audit_auditevent SET actor = 'x'")
    migration.operations[0].reverse_code(None, _SqliteEditor(raw))
    raw.execute("UPDATE audit_auditevent SET actor = 'x'")  # unguarded once the migration is reversed


def test_flush_is_refused_on_a_real_sqlite_database_and_allowed_for_tests(tmp_path, settings):
    from django.core.management.color import no_style
    from django.core.management.sql import sql_flush
    from django.db.utils import ConnectionHandler

    path = tmp_path / "app.sqlite3"
    _sqlite_with_migrations(path)
    raw = sqlite3.connect(path)
    _insert_raw(raw, 1)
    raw.close()
    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}})
    conn = handler["default"]
    conn.ensure_connection()  # connection_created wraps sql_flush
    try:
        settings.AUDIT_ALLOW_FLUSH = None  # not a test database: refused
        with pytest.raises(DatabaseError, match="append-only"):
            conn.ops.execute_sql_flush(sql_flush(no_style(), conn))
        settings.AUDIT_ALLOW_FLUSH = True
        conn.ops.execute_sql_flush(sql_flush(no_style(), conn))
        assert triggers.installed(conn)  # re-created by the flush itself
    finally:
        conn.close()
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (0,)
    _insert_raw(raw, 1)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM audit_auditevent")
    raw.close()


@pytest.mark.django_db(transaction=True)
def test_flush_between_transactional_tests_keeps_the_guard():
    append(2)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    assert triggers.installed(connection)
    append(1)
    sql = "TRUNCATE audit_auditevent" if connection.vendor == "postgresql" else "DELETE FROM audit_auditevent"
    assert_refused(sql)
    assert AuditEvent.objects.count() == 1
