"""Opening a promotion (or a rollback): checks, the promotion row with its pending gate rows, the gate run."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.eligibility import may_request
from approvals.models import GateResult, Promotion, TargetHolding
from approvals.policy import policy_for_decision
from approvals.policy_parse import Target
from approvals.workflow import queue
from approvals.workflow.ledger import current_holder
from approvals.workflow.transitions import S, audit_event, pin_mirror_rows
from common.errors import Conflict, InvalidInput, NotAllowed
from mirror.models import ModelVersion, RegisteredModel

MAX_TEXT = 10_000  # characters of a justification


def live_model(model_name: str) -> RegisteredModel:
    """The live model of that name; InvalidInput (400) when there is none."""
    model = RegisteredModel.objects.live().filter(name=model_name or "").first()
    if model is None:
        raise InvalidInput(f"Unknown model {model_name!r}.", model=["Unknown model."])
    return model


def target_spec(model: RegisteredModel, target: str) -> Target:
    """The policy's target of that name for the model; InvalidInput (400) when there is none."""
    spec = policy_for_decision().target(model.name, target or "")
    if spec is None:
        raise InvalidInput(f"Unknown target {target!r} for model {model.name!r}.", target=["Unknown target."])
    return spec


def version_number(value: object, *, field: str) -> int:
    """`value` as a version number; InvalidInput (400, on `field`) when it is not one."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{value!r} is not a version number.", **{field: ["Not a version number."]}
        ) from None


def _version(model: RegisteredModel, version: int | str) -> ModelVersion:
    number = version_number(version, field="version")
    mv = ModelVersion.objects.live().filter(model=model, version=number).first()
    if mv is None:
        raise InvalidInput(f"Model {model.name!r} has no version {number}.", version=["Unknown version."])
    return mv


def promotion_request(
    *,
    user: AbstractUser,
    model_name: str,
    version: int | str,
    target: str,
    justification: str = "",
    kind: str = Promotion.Kind.PROMOTE,
) -> Promotion:
    """Open a promotion (or, with kind=rollback, a rollback) of the version to the target; its gates run next."""
    if not may_request(user):
        raise NotAllowed("Only ml-engineers, reviewers or staff may request promotions.")
    model = live_model(model_name)
    mv = _version(model, version)
    spec = target_spec(model, target)
    justification = (justification or "").replace("\r\n", "\n").strip()  # a browser's textarea sends CRLF
    if len(justification) > MAX_TEXT:
        raise InvalidInput("The justification is too long (10,000 characters at most).")
    try:
        with transaction.atomic():
            return _open(user=user, model=model, mv=mv, spec=spec, justification=justification, kind=kind)
    except IntegrityError:
        # Two identical requests at the same moment: the partial unique index lets one through.
        _refuse_open_duplicate(model, mv, spec.name)
        raise Conflict(
            f"An open promotion of {model.name} v{mv.version} to {spec.name} already exists."
        ) from None


def _open(
    *,
    user: AbstractUser,
    model: RegisteredModel,
    mv: ModelVersion,
    spec: Target,
    justification: str,
    kind: str,
) -> Promotion:
    mlflow_target = spec.mlflow()
    required = spec.rollback_approvals if kind == Promotion.Kind.ROLLBACK else spec.approvals_required
    pin_mirror_rows(model.pk, mv.pk)
    _refuse_open_duplicate(model, mv, spec.name)
    holder = current_holder(model=model, target=spec.name, mlflow_target=mlflow_target)
    if holder == mv.version:
        raise already_holds(model=model, target=spec.name, version=mv.version)
    now = timezone.now()
    p = Promotion.objects.create(
        kind=kind,
        model=model,
        version=mv,
        target=spec.name,
        mlflow_target=mlflow_target,
        state=S.CHECKING,
        justification=justification,
        requested_by=user,
        requested_at=now,
        checking_since=now,
        previous_version=holder,
        required_approvals=required,
        approver_groups=list(spec.approver_groups),
        gate_specs=[g.as_dict() for g in spec.gates],
    )
    GateResult.objects.bulk_create(
        GateResult(promotion=p, position=i, name=g.type, params=dict(g.params))
        for i, g in enumerate(spec.gates)
    )
    audit_event(
        actor=user,
        action="promotion.requested" if kind == Promotion.Kind.PROMOTE else "rollback.requested",
        promotion=p,
        data={
            "justification": justification,
            "previous_version": p.previous_version,
            "required_approvals": required,
            "approver_groups": p.approver_groups,
            "mlflow": mlflow_target,
        },
    )
    queue.enqueue_gates(p.pk)
    return p


def _refuse_open_duplicate(model: RegisteredModel, mv: ModelVersion, target: str) -> None:
    """409 naming (and linking) the open promotion of the same model, version and target, if there is one."""
    other = (
        Promotion.objects.filter(model=model, version=mv, target=target, state__in=Promotion.OPEN_STATES)
        .values_list("pk", "state")
        .first()
    )
    if other is not None:
        raise Conflict(
            f"An open promotion of {model.name} v{mv.version} to {target} already exists "
            f"(#{other[0]}, {other[1].replace('_', ' ')}).",
            promotion_id=other[0],
        )


def already_holds(
    *, model: RegisteredModel, target: str, version: int, doing: str = "promoting it again"
) -> Conflict:
    """A promotion (or rollback) to the version that already holds the target would change nothing: say who
    holds it."""
    holding = (
        TargetHolding.objects.filter(model=model, target=target, held_to__isnull=True, version=version)
        .values("held_from", "source", "promotion_id")
        .first()
    )
    extra: dict = {"holder_version": version, "source": None, "held_since": None, "promotion_id": None}
    how = "set in MLflow"
    if holding is not None:
        extra.update(
            source=holding["source"],
            held_since=holding["held_from"].isoformat(),
            promotion_id=holding["promotion_id"],
        )
        since = f" since {holding['held_from']:%Y-%m-%d %H:%M} UTC"
        if holding["promotion_id"]:
            how = f"promotion #{holding['promotion_id']}{since}"
        elif holding["source"] == TargetHolding.Source.DRIFT:
            how = f"moved in MLflow outside this app (drift){since}"
        else:
            how = f"observed in MLflow{since}"
    return Conflict(
        f"v{version} already holds {target} ({how}); {doing} would change nothing. "
        "To put a holder set outside this app under governance, staff can adopt it on the model's history page.",
        **extra,
    )
