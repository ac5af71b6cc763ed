"""Audit chain test data: n appended events, and the fields every exported or listed event carries."""

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
