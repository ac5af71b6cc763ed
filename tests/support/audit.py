"""Audit chain test data: n appended events, the fields every exported or listed event carries, and rows changed
behind the guard triggers' back."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import record

EVENT_FIELDS = {"seq", "at", "actor", "action", "object_type", "object_id", "data", "prev_hash", "hash"}


def append(n: int, **extra) -> list[AuditEvent]:
    return [
        record(
            actor="alice",
            action="test.appended",
            object_type="thing",
            object_id=str(i),
            data={"i": i, **extra},
        )
        for i in range(n)
    ]


def tamper(sql: str, params=()) -> None:
    """Change rows as a database superuser with the triggers bypassed (what an attacker with DB access does)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def assert_refused(sql: str) -> None:
    """Run `sql` on the audit table and expect the guard triggers to refuse it (nothing changes)."""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
