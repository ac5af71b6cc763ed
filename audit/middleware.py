"""Names who is acting, for audit events recorded from signals (roles.py): the request's user, else "system".

Only a reference to the request is kept (in a context variable, so threads and async tasks never see another
request's); the user is resolved when an event is recorded, so requests that record nothing pay nothing.
"""

from __future__ import annotations

from contextvars import ContextVar

_request: ContextVar = ContextVar("audit_request", default=None)


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
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "system"
