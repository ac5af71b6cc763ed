"""Who may do what with packages: any authenticated user reads a version's packages and downloads them;
ml-engineers, reviewers and staff start packaging (audit.roles); auditors and approvers alone may not."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from audit import roles
from mirror.access import access_version
from mirror.models import ModelVersion
from packager.models import PackageJob


def can_package(user) -> bool:
    return roles.may_package(user)


def _require_user(user) -> None:
    if not user.is_authenticated:
        raise PermissionDenied("Log in to see packages.")


def access_version_packages(user, name: str, version) -> ModelVersion:
    """The version whose packages the user reads (404 unknown or deleted, 403 anonymous)."""
    return access_version(user, name, version)


def access_version_to_package(user, name: str, version) -> ModelVersion:
    mv = access_version(user, name, version)
    if not can_package(user):
        raise PermissionDenied("Only ml-engineers, reviewers and staff may start packaging.")
    return mv


def access_package(user, pk) -> PackageJob:
    """One packaging job (404 unknown, 403 anonymous), with its version and model loaded."""
    _require_user(user)
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise Http404(f"{pk!r} is not a package id.") from None
    job = PackageJob.objects.filter(pk=number).select_related("version__model", "requested_by").first()
    if job is None:
        raise Http404("No such package.")
    return job


def access_any_packages(user) -> None:
    """The jobs list: any authenticated user."""
    _require_user(user)
