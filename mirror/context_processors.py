from django.conf import settings
from django.utils.functional import SimpleLazyObject

from audit import roles
from mirror.selectors import mirror_status


def mirror(request):
    user = getattr(request, "user", None)
    return {
        "app_version": settings.APP_VERSION,
        "mirror_status": mirror_status(),
        # Queried only when a template asks: the nav shows auditors and staff their export pages.
        "may_export": SimpleLazyObject(lambda: roles.may_export(user)) if user is not None else False,
    }
