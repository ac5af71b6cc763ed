"""Authentication backends: django-axes' lockout in front of Django's model backend."""

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses every login of a locked-out user or address (django-axes; thresholds in settings `AXES_*`).

    Calls without a request (`manage.py` commands, the test client's `login()`) come from inside the machine,
    never from a client that could guess passwords: axes needs a request to tell the address, so it is
    skipped for them instead of failing. Signing re-authenticates through `approvals.signing`, which keeps its
    own counter with the same thresholds.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
