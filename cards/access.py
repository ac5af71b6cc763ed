"""Who may do what with model cards: any authenticated user reads (and exports one card); ml-engineers,
reviewers and staff edit; auditors and staff run bulk exports."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from audit import roles
from cards.models import BulkExport
from mirror.access import access_version


def can_edit_cards(user) -> bool:
    return roles.may_edit_cards(user)


def can_bulk_export(user) -> bool:
    return roles.may_export(user)


def access_card(user, name: str, version):
    """The model version whose card the user wants to read (404 unknown, 403 anonymous)."""
    return access_version(user, name, version)


def access_card_for_edit(user, name: str, version):
    mv = access_version(user, name, version)
    if not can_edit_cards(user):
        raise PermissionDenied("Only ml-engineers, reviewers and staff may edit model cards.")
    return mv


def require_bulk_exporter(user) -> None:
    if not user.is_authenticated:
        raise PermissionDenied("Log in to export cards.")
    if not can_bulk_export(user):
        raise PermissionDenied("Only auditors and staff may run bulk card exports.")


def access_bulk_export(user, pk) -> BulkExport:
    require_bulk_exporter(user)
    job = BulkExport.objects.filter(pk=pk).select_related("requested_by").first()
    if job is None:
        raise Http404("No such card export.")
    return job
