"""Who may read and export the audit log (API.md "Roles"): every authenticated user reads it and its
verification; the export is for auditors and staff."""

from django.core.exceptions import PermissionDenied

from audit import roles


def require_reader(user) -> None:
    if not user.is_authenticated:
        raise PermissionDenied("Log in to see the audit log.")


def can_export(user) -> bool:
    return roles.may_export(user)


def require_exporter(user) -> None:
    require_reader(user)
    if not can_export(user):
        raise PermissionDenied("Only auditors and staff may export the audit log.")
