"""Lets Django's test flush empty the append-only audit table, on test databases only.

pytest-django flushes the database between transactional tests (TRUNCATE on PostgreSQL, DELETE FROM on SQLite),
which the audit table's trigger refuses. The suite wraps `connection.ops.sql_flush` on every new connection
(tests/conftest.py connects `allow_test_flush`) so that a flush of a test database drops the guard trigger,
empties the table and re-creates the trigger, all in the flush's own transaction, using the statements
audit.triggers keeps for that. Product code has no such switch: `manage.py flush` on a real database is refused.
`settings.AUDIT_ALLOW_FLUSH` (True/False) overrides the test-database check, for the tests of this wrapper.
"""

from __future__ import annotations

from audit.triggers import TABLE, statements


def _flush_allowed(connection) -> bool:
    from django.conf import settings

    explicit = getattr(settings, "AUDIT_ALLOW_FLUSH", None)
    if explicit is not None:
        return bool(explicit)
    # Django's test databases only: the test runner has swapped NAME for "test_<name>" (or an in-memory
    # SQLite database, or settings TEST["NAME"]).
    from django.db.backends.base.creation import TEST_DATABASE_PREFIX

    name = str(connection.settings_dict.get("NAME") or "")
    test_name = (connection.settings_dict.get("TEST") or {}).get("NAME")
    if name.startswith(TEST_DATABASE_PREFIX) or (test_name and name == test_name):
        return True
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def allow_test_flush(sender, connection, **kwargs) -> None:
    """connection_created receiver: let Django's flush empty the table on test databases (see module doc)."""
    ops = connection.ops
    if getattr(ops, "_audit_flush_wrapped", False) or connection.vendor not in {"postgresql", "sqlite"}:
        return
    original = ops.sql_flush

    def sql_flush(style, tables, **options):
        sql = original(style, tables, **options)
        if TABLE in tables and _flush_allowed(connection):
            vendor = connection.vendor
            sql = statements(vendor, "flush_before") + list(sql) + statements(vendor, "flush_after")
        return sql

    ops.sql_flush = sql_flush
    ops._audit_flush_wrapped = True
