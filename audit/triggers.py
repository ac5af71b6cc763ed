"""The SQL that makes the database refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of audit events.

Migration 0002 installs it; `manage.py flush` on a real database is refused by the trigger. The
`flush_before`/`flush_after` statements (drop the guard, re-create it) exist for the test suite, which wraps
Django's flush with them on its own test databases (tests/support/audit_flush.py): nothing here switches on
for tests.

Note for future migrations: on SQLite, Django rebuilds a table to alter it, which drops its triggers. A
migration that alters this table must call `install(schema_editor)` again.
"""

from __future__ import annotations

TABLE = "audit_auditevent"
REFUSED = "audit events are append-only"

PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{REFUSED}: % on {TABLE} refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    """,
    f"""
    CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
    """,
    f"""
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
    """,
]
PG_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS audit_event_no_truncate ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_event_no_update_delete ON {TABLE};",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change();",
]
# TRUNCATE fires only the statement trigger; the flush lifts just that one.
PG_FLUSH_BEFORE = [f"DROP TRIGGER IF EXISTS audit_event_no_truncate ON {TABLE};"]
PG_FLUSH_AFTER = [PG_INSTALL[2]]

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE on {TABLE} refused'); END;
    """,
    f"""
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE on {TABLE} refused'); END;
    """,
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
]
SQLITE_FLUSH_BEFORE = ["DROP TRIGGER IF EXISTS audit_event_no_delete;"]
SQLITE_FLUSH_AFTER = [SQLITE_INSTALL[1]]


def statements(vendor: str, kind: str) -> list[str]:
    table = {
        ("postgresql", "install"): PG_INSTALL,
        ("postgresql", "uninstall"): PG_UNINSTALL,
        ("postgresql", "flush_before"): PG_FLUSH_BEFORE,
        ("postgresql", "flush_after"): PG_FLUSH_AFTER,
        ("sqlite", "install"): SQLITE_INSTALL,
        ("sqlite", "uninstall"): SQLITE_UNINSTALL,
        ("sqlite", "flush_before"): SQLITE_FLUSH_BEFORE,
        ("sqlite", "flush_after"): SQLITE_FLUSH_AFTER,
    }
    return table.get((vendor, kind), [])


def install(schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor, "install"):
        schema_editor.execute(sql, params=None)


def uninstall(schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor, "uninstall"):
        schema_editor.execute(sql, params=None)


def installed(connection) -> bool:
    """Whether the guard triggers exist (a system check and verify_audit report when they do not)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal "
                "AND tgname IN ('audit_event_no_update_delete', 'audit_event_no_truncate') AND tgenabled <> 'D'",
                [TABLE],
            )
            return cursor.fetchone()[0] == 2
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
                "AND name IN ('audit_event_no_update', 'audit_event_no_delete')",
                [TABLE],
            )
            return cursor.fetchone()[0] == 2
    return True  # other databases: no guard available
