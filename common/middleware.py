import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError

from common.error_views import database_unavailable, error_response

log = logging.getLogger(__name__)


class ContentSecurityPolicyMiddleware:
    """Sends the CSP header: scripts and styles from our own origin only (no inline code)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY
        self.exempt = tuple(settings.CONTENT_SECURITY_POLICY_EXEMPT_PREFIXES)

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(self.exempt):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class RejectNulMiddleware:
    """A NUL byte in the URL's path or query is a 400: PostgreSQL text cannot hold one, so every name or filter
    that reached a query was a 500 (psycopg DataError). No real name, filter or page number holds one."""

    DETAIL = "The URL holds a NUL character (%00), which no name or filter may contain."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return error_response(request, 400, self.DETAIL)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view whose database connection failed under it (dropped, refused, a restart: OperationalError or
    InterfaceError) answers 503 with the clean JSON error or page, instead of a 500 (found by the fault suite:
    a connection terminated mid-write was a 500). Django closes the broken connection at the request's end; the
    next request opens a new one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.error("database unavailable during %s %s", request.method, request.path, exc_info=exception)
        return database_unavailable(request)
