"""Django's error handlers: JSON `{"detail": ...}` under /api/ (and /webhooks/), the styled pages elsewhere.

The detail is a fixed sentence per status, never request input: an exception's message may quote the Host
header, a path or a field, and a page must never echo them as HTML."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.views import defaults

JSON_PREFIXES = ("/api/", "/webhooks/")

_PAGES = {
    400: lambda request, detail: defaults.bad_request(request, SuspiciousOperation(detail)),
    403: lambda request, detail: defaults.permission_denied(request, PermissionDenied(detail)),
    404: lambda request, detail: defaults.page_not_found(request, Http404(detail)),
    500: lambda request, detail: defaults.server_error(request),
    503: lambda request, detail: defaults.server_error(request, template_name="503.html"),
}


def error_response(request, status: int, detail: str):
    """The one answer for an error outside a view: JSON for the API and webhooks, the styled page otherwise."""
    if request.path_info.startswith(JSON_PREFIXES):
        return JsonResponse({"detail": detail}, status=status)
    response = _PAGES[status](request, detail)
    response.status_code = status
    return response


DATABASE_UNAVAILABLE = (
    "The database could not be reached, so the request was not completed and nothing was saved. "
    "Try again in a moment."
)
RETRY_AFTER_SECONDS = 5


def database_unavailable(request):
    """503 for a request whose database connection failed under it (dropped, refused, restarted): the
    transaction it was writing rolled back with it, so saying "try again" is honest."""
    response = error_response(request, 503, DATABASE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        from django.conf import settings

        detail = f"The request body is too large (over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)."
    else:
        detail = "Bad request: it was malformed, too large, or addressed to a host name this server does not serve."
    return error_response(request, 400, detail)


def permission_denied(request, exception=None):
    if not request.path_info.startswith(JSON_PREFIXES):
        return defaults.permission_denied(request, exception)  # the page shows the view's own reason
    return error_response(request, 403, "You do not have permission to perform this action.")


def page_not_found(request, exception=None):
    if not request.path_info.startswith(JSON_PREFIXES):
        return defaults.page_not_found(request, exception)
    return error_response(request, 404, "Not found.")


def server_error(request):
    return error_response(
        request, 500, "Server error: the request could not be completed; it has been logged."
    )


CSRF_FAILED = "Your form expired or was sent from another site; reload the page and try again."


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the styled 403 page with a sentence a person can act on (Django's is unstyled)."""
    if request.path_info.startswith(JSON_PREFIXES):
        return error_response(
            request, 403, f"CSRF Failed: {reason}"
        )  # Django's fixed reason, as DRF words it
    return error_response(request, 403, CSRF_FAILED)
