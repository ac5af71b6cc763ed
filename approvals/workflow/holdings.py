"""Target history beyond this app's own promotions: holders observed in MLflow, and staff adoption of them.

Every sync (the first included) records each holder the mirror shows that the history does not have yet
(`observed`), so "what held production at time T" has an answer from the first sync on, not only from the
first applied promotion. Drift (`drift`) and applied promotions (`promotion`) are recorded by the drift and
outbox steps.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import states
from approvals.models import DriftRecord, Promotion, TargetHolding
from approvals.policy import policy_for_decision
from approvals.policy_parse import Policy
from approvals.workflow.ledger import baseline, move_holding, resolve_drift
from approvals.workflow.transitions import audit_holding_event
from common.errors import Conflict, InvalidInput, NotAllowed, NotFound
from mirror import holders
from mirror.models import RegisteredModel

S = Promotion.State


def _mirror_holders(models: list[RegisteredModel], policy: Policy) -> dict[tuple[int, str], int | None]:
    """{(model pk, target): version holding it in the mirror} for every target of these models (2 queries)."""
    specs = {m.pk: policy.targets_for(m.name) for m in models}
    found = holders.holders((m, t.mlflow()) for m in models for t in specs[m.pk].values())
    return {
        (m.pk, name): found[holders.key(m, t.mlflow())] for m in models for name, t in specs[m.pk].items()
    }


MODELS_PER_SCAN = 1000  # models compared with the history per round of queries (every model is compared)
OBSERVE_CHUNK = 200  # changes recorded per transaction: short audit-lock holds, few commits on a first sync


def _governed_and_in_flight(ids: list[int]) -> tuple[set[tuple[int, str]], set[tuple[int, str, int]]]:
    """(model pk, target) pairs this app governs (an applied promotion or an adoption), and (model pk, target,
    version) of promotions being applied — both left out of observation."""
    governed = set(
        Promotion.objects.filter(state=S.APPLIED, model_id__in=ids)
        .values_list("model_id", "target")
        .distinct()
    ) | set(
        TargetHolding.objects.filter(adopted_at__isnull=False, model_id__in=ids)
        .values_list("model_id", "target")
        .distinct()
    )
    in_flight = set(
        Promotion.objects.filter(model_id__in=ids, state__in=states.ALLOWED[states.APPLY]).values_list(
            "model_id", "target", "version__version"
        )
    )
    return governed, in_flight


def _changes(
    models: list[RegisteredModel], policy: Policy, locked_holdings: bool = False
) -> list[tuple[RegisteredModel, str, int | None, TargetHolding | None]]:
    """[(model, target, holder, open holding | None)] where the mirror shows another holder than the history."""
    mirror_holders = _mirror_holders(models, policy)
    ids = [m.pk for m in models]
    governed, in_flight = _governed_and_in_flight(ids)
    rows = TargetHolding.objects.filter(model_id__in=ids, held_to__isnull=True)
    if locked_holdings:
        rows = rows.select_for_update()
    recorded = {(h.model_id, h.target): h for h in rows}
    by_pk = {m.pk: m for m in models}
    out = []
    for (model_pk, target), holder in mirror_holders.items():
        current = recorded.get((model_pk, target))
        if (model_pk, target) in governed or (current.version if current else None) == holder:
            continue
        if holder is not None and (model_pk, target, holder) in in_flight:
            continue
        out.append((by_pk[model_pk], target, holder, current))
    return out


def record_observed_holders(
    *, model_names: Iterable[str] | None = None, sync_run_id: int | None = None
) -> int:
    """After every sync (the first included): each target holder the mirror shows that the history does not have
    yet is recorded with source `observed`, and audited. Targets this app governs are drift's business; our own
    applies in flight are the outbox's. None for model_names: every model (a full sync or a reconcile)."""
    qs = RegisteredModel.objects.live().only("pk", "name", "aliases")
    if model_names is not None:
        if not model_names:
            return 0
        qs = qs.filter(name__in=list(model_names))
    policy: Policy | None = None
    changed = 0
    models: list[RegisteredModel] = []
    for model in qs.order_by("pk").iterator(chunk_size=MODELS_PER_SCAN):  # every model, a chunk at a time
        models.append(model)
        if len(models) == MODELS_PER_SCAN:
            policy = policy or policy_for_decision()
            changed += _observe(models, policy, sync_run_id)
            models = []
    if models:
        changed += _observe(models, policy or policy_for_decision(), sync_run_id)
    return changed


def _observe(models: list[RegisteredModel], policy: Policy, sync_run_id: int | None) -> int:
    """Record the changes of these models, OBSERVE_CHUNK models per transaction."""
    pending = sorted({m.pk for m, _, _, _ in _changes(models, policy)})
    changed = 0
    for start in range(0, len(pending), OBSERVE_CHUNK):
        changed += _observe_chunk(pending[start : start + OBSERVE_CHUNK], policy, sync_run_id)
    return changed


def _observe_chunk(model_pks: list[int], policy: Policy, sync_run_id: int | None) -> int:
    """Record the changes of these models in one transaction, re-read under their row locks (taken in pk order,
    before the audit chain's lock, as everywhere) so concurrent syncs record each change once."""
    try:
        with transaction.atomic():
            models = list(
                RegisteredModel.objects.select_for_update()
                .filter(pk__in=model_pks, deleted_at__isnull=True)
                .order_by("pk")
                .only("pk", "name", "aliases")
            )
            changes = _changes(models, policy, locked_holdings=True)
            now = timezone.now()
            closing = [current for _, _, _, current in changes if current is not None]
            for current in closing:
                current.held_to = now
            TargetHolding.objects.bulk_update(closing, ["held_to"], batch_size=500)
            TargetHolding.objects.bulk_create(
                [
                    TargetHolding(
                        model=model,
                        target=target,
                        version=holder,
                        held_from=now,
                        source=TargetHolding.Source.OBSERVED,
                    )
                    for model, target, holder, _ in changes
                    if holder is not None
                ],
                batch_size=500,
            )
            for model, target, holder, current in changes:
                audit_holding_event(
                    actor=None,
                    action="holding.observed",
                    model_name=model.name,
                    target=target,
                    mlflow=policy.target(model.name, target).mlflow(),
                    version=holder,
                    previous_version=current.version if current is not None else None,
                    sync_run_id=sync_run_id,
                )
            return len(changes)
    except (
        IntegrityError
    ):  # a concurrent sync recorded some of these at the same moment; the next sync checks
        return 0


def holder_adopt(
    *, user: AbstractUser, model_name: str, target: str, justification: str = ""
) -> TargetHolding:
    """Staff: put the holder set outside this app under governance. The holding is marked adopted (by whom, when,
    why — on the audit chain); drift is measured against it from then on, as against an applied promotion."""
    if not user.is_staff:
        raise NotAllowed("Only staff may adopt a holder set outside this app.")
    model = RegisteredModel.objects.live().filter(name=model_name or "").first()
    if model is None:
        raise NotFound(f"Unknown model {model_name!r}.")
    spec = policy_for_decision().target(model.name, target or "")
    if spec is None:
        raise InvalidInput(f"Unknown target {target!r} for model {model.name!r}.", target=["Unknown target."])
    justification = (justification or "").strip()
    if not justification:
        raise InvalidInput("Say why this holder is adopted.", justification=["Required."])
    if len(justification) > 10_000:
        raise InvalidInput("The justification is too long (10,000 characters at most).")
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()
        model.refresh_from_db()
        holder = holders.holder(model, spec.mlflow())
        if holder is None:
            raise Conflict(f"Nothing holds {spec.name} in MLflow; there is nothing to adopt.")
        base = baseline(model=model, target=spec.name)
        if base is not None and base[0] == holder:
            how = f"promotion #{base[1].pk}" if base[1] is not None else "an earlier adoption"
            raise Conflict(f"v{holder} already holds {spec.name} under governance ({how}).")
        now = timezone.now()
        current = (
            TargetHolding.objects.select_for_update()
            .filter(model=model, target=spec.name, held_to__isnull=True)
            .first()
        )
        if current is None or current.version != holder:
            move_holding(
                model=model, target=spec.name, version=holder, at=now, source=TargetHolding.Source.OBSERVED
            )
            current = TargetHolding.objects.get(model=model, target=spec.name, held_to__isnull=True)
        current.adopted_by, current.adopted_at = user, now
        current.save(update_fields=["adopted_by", "adopted_at"])
        audit_holding_event(
            actor=user,
            action="holding.adopted",
            model_name=model.name,
            target=spec.name,
            mlflow=spec.mlflow(),
            version=holder,
            source=current.source,
            held_from=current.held_from.isoformat(),
            previous_baseline=base[0] if base else None,
            justification=justification,
        )
        resolve_drift(
            records=DriftRecord.objects.select_for_update().filter(
                model=model, target=spec.name, resolved_at__isnull=True
            ),
            now=now,
            reason=f"staff ({user.get_username()}) adopted v{holder}",
            version=holder,
        )
    return current
