"""Names who is acting, for audit events recorded from signals (role_changes.py): the request's user (or who
`acting_as` names), else "system".

Only a reference to the request is kept (in a context variable, so threads and async tasks never see another
request's); the user is resolved when an event is recorded, so requests that record nothing pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request: ContextVar = ContextVar("audit_request", default=None)
_acting: ContextVar[str | None] = ContextVar("audit_acting", default=None)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Names the actor of the events recorded from signals inside the block (e.g. "sso": the identity
    provider's groups changed a user's roles at login, before anyone is logged in)."""
    token = _acting.set(actor)
    try:
        yield
    finally:
        _acting.reset(token)


class AuditActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def current_actor() -> str:
    acting = _acting.get()
    if acting:
        return acting
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "system"
