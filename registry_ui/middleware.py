from django.conf import settings


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
