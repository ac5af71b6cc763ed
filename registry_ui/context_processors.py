from django.conf import settings

from .selectors import mirror_status


def mirror(request):
    return {"app_version": settings.APP_VERSION, "mirror_status": mirror_status()}
