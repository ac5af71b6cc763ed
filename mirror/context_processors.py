from django.conf import settings
from django.utils.functional import SimpleLazyObject

from mirror.selectors import mirror_status


def _roles(user) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    return frozenset(user.groups.values_list("name", flat=True)) | ({"staff"} if user.is_staff else set())


def mirror(request):
    user = getattr(request, "user", None)
    return {
        "app_version": settings.APP_VERSION,
        "mirror_status": mirror_status(),
        # Queried only when a template asks (e.g. the nav shows auditors their export page).
        "roles": SimpleLazyObject(lambda: _roles(user)) if user is not None else frozenset(),
    }
