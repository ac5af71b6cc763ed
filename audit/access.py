"""Who may read and export the audit log (API.md "Roles"): every authenticated user reads it and its
verification; the export is for auditors and staff."""

from django.core.exceptions import PermissionDenied

EXPORT_GROUP = "auditors"


def require_reader(user) -> None:
    if not user.is_authenticated:
        raise PermissionDenied("Log in to see the audit log.")


def can_export(user) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.groups.filter(name=EXPORT_GROUP).exists()))


def require_exporter(user) -> None:
    require_reader(user)
    if not can_export(user):
        raise PermissionDenied("Only auditors and staff may export the audit log.")
