"""Authorization chokepoint for the mirror: one access helper per object type.

Every page and API view gets its objects here. Any authenticated user may read the mirror (`API.md`,
"Roles"); objects deleted in MLflow are 404 for lists and details (their rows stay for the audit trail).
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from mirror.models import ModelVersion, RegisteredModel, SyncRun


def _require_user(user) -> None:
    if not user.is_authenticated:
        raise PermissionDenied("Log in to see the registry.")


def require_staff(user) -> None:
    _require_user(user)
    if not user.is_staff:
        raise PermissionDenied("Only staff may do this.")


def access_model(user, name: str) -> RegisteredModel:
    _require_user(user)
    model = RegisteredModel.objects.live().filter(name=name).first()
    if model is None:
        raise Http404(f"No registered model named {name!r}.")
    return model


def access_version(user, name: str, version) -> ModelVersion:
    _require_user(user)
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise Http404(f"{version!r} is not a version number.") from None
    mv = (
        ModelVersion.objects.live()
        .select_related("model", "source_run")
        .filter(model__name=name, model__deleted_at__isnull=True, version=number)
        .first()
    )
    if mv is None:
        raise Http404(f"No version {number} of model {name!r}.")
    return mv


def access_sync_run(user, pk) -> SyncRun:
    _require_user(user)
    run = SyncRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404("No such sync run.")
    return run
