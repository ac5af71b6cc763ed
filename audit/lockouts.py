"""Login lockouts go on the chain: one `login.locked_out` event when django-axes locks a username at an address
(settings `AXES_*`), not one per refused attempt while the lock lasts.

django-axes sends `user_locked_out` when the failure that reaches the limit is recorded, and again for every
attempt made while locked (each counted as one more failure): the event is recorded for the first only, the one
whose count is exactly the limit.
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings

from audit.services import record


def locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    failures = getattr(request, "axes_failures_since_start", None)
    if failures != settings.AXES_FAILURE_LIMIT:
        return  # an attempt during a lockout already recorded
    record(
        actor="system",
        action="login.locked_out",
        object_type="user",
        object_id=str(username or ""),
        data={
            "username": username,
            "ip_address": ip_address,
            "failures": failures,
            "lockout_minutes": settings.AXES_COOLOFF_TIME.total_seconds() / 60,
            "locked_by": [
                "+".join(p) if isinstance(p, list) else p for p in settings.AXES_LOCKOUT_PARAMETERS
            ],
        },
    )


def connect() -> None:
    user_locked_out.connect(locked_out, dispatch_uid="audit_login_locked_out")
