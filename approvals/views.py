"""Pages of the promotion workflow. Short functions: access helper → form data → one service or selector → render."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals import access, selectors, signing, sso_signing, states
from approvals.eligibility import eligibility_problem, may_cancel
from approvals.models import Approval, Promotion
from approvals.policy import get_policy
from approvals.workflow import cancel, gating, requests, rollback, signatures
from approvals.workflow.holdings import holder_adopt
from cards.services import card_diff_between_versions_html
from common.errors import DomainError
from common.pages import paginate
from compare.charts import metric_bars
from compare.goals import lower_is_better_metrics
from mirror import holders
from mirror.access import access_model

log = logging.getLogger(__name__)
SIGN_FORM_KEY = "approvals_sign_form_{pk}"  # what a refused signature form held, shown again once


@login_required
@require_safe
def promotion_list(request):
    params = request.GET
    tab = params.get("tab") or "all"
    qs = selectors.promotions_qs()
    if tab == "inbox":
        qs = qs.filter(pk__in=selectors.awaiting_for(request.user).values("pk"))
    elif tab == "open":
        qs = qs.filter(state__in=Promotion.OPEN_STATES)
    state = params.get("state") if params.get("state") in Promotion.State.values else None
    qs = selectors.filter_promotions(
        qs,
        state=state,
        model=params.get("model") or None,
        target=params.get("target") or None,
        kind=params.get("kind") or None,
    )
    context = {
        "page_obj": paginate(request, qs.order_by("-requested_at", "-id")),
        "tab": tab,
        "states": Promotion.State.values,
        "targets": sorted(get_policy().targets),
        "inbox_count": selectors.awaiting_for(request.user).count(),
        "filters": {
            "state": state or "",
            "model": params.get("model", ""),
            "target": params.get("target", ""),
        },
        "active_nav": "promotions",
    }
    return render(request, "approvals/promotion_list.html", context)


def _comparison(p: Promotion) -> dict:
    """Candidate against the current holder: a metrics table, and a chart when the compare builders exist."""
    holder_no = holders.holder(p.model, p.mlflow_target)
    if p.state == states.APPLIED:
        holder_no = p.previous_version
    holder = None
    if holder_no is not None and holder_no != p.version.version:
        holder = p.model.versions.select_related("source_run").filter(version=holder_no).first()
    cand_metrics = dict(p.version.source_run.metrics) if p.version.source_run else {}
    hold_metrics = dict(holder.source_run.metrics) if holder is not None and holder.source_run else {}
    keys = sorted(set(cand_metrics) | set(hold_metrics))
    primary = p.model.primary_metric
    if primary in keys:
        keys.remove(primary)
        keys.insert(0, primary)
    rows = [
        {"key": k, "candidate": cand_metrics.get(k), "holder": hold_metrics.get(k), "primary": k == primary}
        for k in keys[:100]
    ]
    chart = None
    if rows:
        try:
            cand_label = f"v{p.version.version} (candidate)"
            columns = [cand_label]
            metrics = {r["key"]: {cand_label: r["candidate"]} for r in rows[:20]}
            if holder is not None:
                hold_label = f"v{holder.version} (holds {p.target})"
                columns.append(hold_label)
                for r in rows[:20]:
                    metrics[r["key"]][hold_label] = r["holder"]
            lower = lower_is_better_metrics(metrics, [p.model])
            chart = metric_bars(
                columns,
                metrics,
                normalise=len(metrics) > 1,
                lower_is_better=lower,
                title=f"v{p.version.version} against the holder of {p.target}",
            )
        except Exception:  # the table still shows the numbers
            log.exception("candidate/holder chart failed")
            chart = None
    return {"holder": holder, "rows": rows, "chart": chart}


def _card_diff(p: Promotion) -> str | None:
    """The card diff since the last approved version of this target (html from the cards feature), if any."""
    last = (
        Promotion.objects.filter(model=p.model, target=p.target, state=states.APPLIED)
        .exclude(version=p.version)
        .select_related("version")
        .order_by("-applied_at")
        .first()
    )
    try:
        return card_diff_between_versions_html(from_mv=last.version if last else None, to_mv=p.version)
    except Exception:
        log.exception("card diff failed for promotion %s", p.pk)
        return None


@login_required
@require_safe
def promotion_detail(request, pk: int):
    p = access.access_promotion(request.user, pk)
    if request.htmx:
        return promotion_gates(request, pk)
    problem = eligibility_problem(p, request.user)
    already = any(a.reviewer_id == request.user.pk and a.counts for a in p.approvals.all())
    superseded = [a for a in p.approvals.all() if not a.counts]
    context = {
        "p": p,
        "sign_form": request.session.pop(SIGN_FORM_KEY.format(pk=p.pk), None) or {},
        "live": states.is_live(p.state),
        "can_sign": states.allowed(states.APPROVE, p.state) and problem is None and not already,
        "can_reject": states.allowed(states.REJECT, p.state) and problem is None and not already,
        "awaiting_signatures": states.allowed(states.APPROVE, p.state),
        "sign_problem": problem,
        "already_signed": already,
        "can_cancel": states.allowed(states.CANCEL, p.state) and may_cancel(p, request.user),
        "recheck_action": states.recheck_action(p.state),
        "meanings": Approval.Meaning.choices,
        "approve_count": sum(1 for a in p.approvals.all() if a.decision == "approve" and a.counts),
        "superseded_reason": superseded[-1].superseded_reason if superseded else "",
        "comparison": _comparison(p),
        "card_diff": _card_diff(p),
        "active_nav": "promotions",
    }
    return render(request, "approvals/promotion_detail.html", context)


@login_required
@require_safe
def promotion_gates(request, pk: int):
    """htmx partial: the gates and the state, polled while the promotion is moving."""
    p = access.access_promotion(request.user, pk)
    return render(request, "approvals/_promotion_live.html", {"p": p, "live": states.is_live(p.state)})


@login_required
@require_POST
def promotion_sign(request, pk: int):
    p = access.access_promotion(request.user, pk)
    data = request.POST
    decision = data.get("decision")
    kwargs = {
        "promotion_id": p.pk,
        "user": request.user,
        "password": data.get("password") or None,
        "client_ip": signing.client_ip(request),
        "comment": data.get("comment", ""),
        "meaning": data.get("meaning") or None,
    }
    error = None
    try:
        if decision not in ("approve", "reject"):
            error = "Choose approve or reject."
        elif not kwargs["meaning"]:
            # The meaning recorded is the one the signer chose: the form preselects none.
            error = "Choose the meaning of your signature."
        elif sso_signing.wants_provider(request, kwargs["password"]):  # re-authenticate at the provider
            return sso_signing.start(request, p.pk, decision, kwargs)
        elif decision == "reject":
            signatures.approval_reject(**kwargs)
            messages.success(request, "Rejected. Your signature is recorded.")
        else:
            signatures.approval_grant(**kwargs)
            mine = p.approvals.filter(reviewer=request.user).order_by("-signed_at", "-id").first()
            if mine is not None and mine.superseded_at is not None:
                messages.warning(
                    request, f"Your signature is recorded but does not count: {mine.superseded_reason}"
                )
            else:
                messages.success(request, "Approved. Your signature is recorded.")
    except DomainError as exc:
        error = str(exc)
    if error:
        messages.error(request, error)
        # Refused: the form comes back with what was typed (never the password).
        request.session[SIGN_FORM_KEY.format(pk=p.pk)] = {
            "comment": kwargs["comment"][:10_000],
            "meaning": kwargs["meaning"] or "",
        }
    return redirect("approvals:promotion-detail", pk=p.pk)


def _act(request, pk: int, service, done: str, **kwargs):
    """A button on the promotion page: the service, then back to the page saying what happened."""
    p = access.access_promotion(request.user, pk)
    try:
        service(promotion_id=p.pk, user=request.user, **kwargs)
        messages.success(request, done)
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("approvals:promotion-detail", pk=p.pk)


@login_required
@require_POST
def promotion_cancel(request, pk: int):
    return _act(request, pk, cancel.cancel, "Promotion cancelled.", reason=request.POST.get("reason", ""))


@login_required
@require_POST
def promotion_recheck(request, pk: int):
    return _act(request, pk, gating.recheck, "Running again.")


@login_required
@require_http_methods(["GET", "POST"])
def promotion_request_view(request, name: str, version: int):
    mv = access.access_version_to_request(request.user, name, version)
    targets = get_policy().targets_for(mv.model.name)
    error = None
    conflict_id = None
    if request.method == "POST":
        try:
            p = requests.promotion_request(
                user=request.user,
                model_name=mv.model.name,
                version=mv.version,
                target=request.POST.get("target", ""),
                justification=request.POST.get("justification", ""),
            )
            messages.success(request, f"Promotion #{p.pk} requested; the gates are running.")
            return redirect("approvals:promotion-detail", pk=p.pk)
        except DomainError as exc:
            error, conflict_id = str(exc), exc.extra.get("promotion_id")
    context = {
        "model": mv.model,
        "mv": mv,
        "targets": list(targets.values()),
        "error": error,
        "conflict_id": conflict_id,
        "selected": request.POST.get("target") or request.GET.get("target") or "",
        "justification": request.POST.get("justification", ""),
    }
    return render(request, "approvals/request.html", context, status=400 if error else 200)


@login_required
@require_safe
def model_history(request, name: str):
    model = access_model(request.user, name)
    targets = get_policy().targets_for(model.name)
    rows = selectors.history(model)
    at, at_error = None, None
    if request.GET.get("at"):
        try:
            at = selectors.parse_at(request.GET["at"])
        except DomainError as exc:
            at_error = str(exc)
    by_target: dict[str, list] = {t: [] for t in targets}
    for r in rows:
        by_target.setdefault(r["target"], []).append(r)
    timelines = []
    for target, entries in by_target.items():
        spec = targets.get(target)
        current = holders.holder(model, spec.mlflow()) if spec else None
        entries = list(reversed(entries))  # newest first
        earlier = sorted({e["version"] for e in entries if e["version"] != current}, reverse=True)
        open_entry = next((e for e in entries if not e["to"]), None)
        governed = any(e["source"] == "promotion" or e["adopted_at"] for e in entries)
        timelines.append(
            {
                "target": target,
                "spec": spec,
                "entries": entries,
                "current": current,
                "rollback_to": earlier,
                "as_of": selectors.history_at(model, target, at) if at is not None else None,
                "can_adopt": request.user.is_staff
                and spec is not None
                and current is not None
                and not (
                    open_entry
                    and open_entry["version"] == current
                    and (open_entry["adopted_at"] or open_entry["source"] == "promotion")
                ),
                "governed": governed,
            }
        )
    context = {
        "model": model,
        "timelines": timelines,
        "drift": selectors.open_drift_for_model(model),
        "at": at,
        "at_value": request.GET.get("at", ""),
        "at_error": at_error,
    }
    return render(request, "approvals/model_history.html", context, status=400 if at_error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def rollback_request_view(request, name: str):
    """A confirmation page: what the rollback does, a justification (required), then the request."""
    model = access.access_model_to_roll_back(request.user, name)
    data = request.POST if request.method == "POST" else request.GET
    target = data.get("target", "")
    spec = get_policy().target(model.name, target)
    current, default = (
        rollback.rollback_default_version(model=model, target=spec.name, mlflow_target=spec.mlflow())
        if spec
        else (None, None)
    )
    error, conflict_id, error_status = None, None, 400
    justification = request.POST.get("justification", "")
    if request.method == "POST":
        if not justification.strip():
            error = "Say why this rollback is needed: the justification is required."
        else:
            try:
                p = rollback.rollback_request(
                    user=request.user,
                    model_name=model.name,
                    target=target,
                    to_version=data.get("to_version") or None,
                    justification=justification,
                )
                messages.success(request, f"Rollback #{p.pk} requested; it goes through the target's policy.")
                return redirect("approvals:promotion-detail", pk=p.pk)
            except DomainError as exc:
                error, conflict_id, error_status = str(exc), exc.extra.get("promotion_id"), exc.status
    elif spec is None:
        error = f"Unknown target {target!r} for {model.name}."
    context = {
        "model": model,
        "spec": spec,
        "target": target,
        "to_version": data.get("to_version") or default or "",
        "current": current,
        "justification": justification,
        "error": error,
        "conflict_id": conflict_id,
    }
    return render(request, "approvals/rollback_confirm.html", context, status=error_status if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def holder_adopt_view(request, name: str):
    """Staff: adopt the holder set outside this app (a confirmation page with a required justification)."""
    model = access.access_model_to_adopt(request.user, name)
    data = request.POST if request.method == "POST" else request.GET
    target = data.get("target", "")
    spec = get_policy().target(model.name, target)
    error = None
    justification = request.POST.get("justification", "")
    if request.method == "POST":
        try:
            h = holder_adopt(
                user=request.user, model_name=model.name, target=target, justification=justification
            )
            messages.success(request, f"v{h.version} adopted as the approved holder of {h.target}.")
            return redirect("approvals:model-history", name=model.name)
        except DomainError as exc:
            error = str(exc)
    context = {
        "model": model,
        "spec": spec,
        "target": target,
        "current": holders.holder(model, spec.mlflow()) if spec else None,
        "justification": justification,
        "error": error,
    }
    return render(request, "approvals/adopt_confirm.html", context, status=400 if error else 200)


@login_required
@require_safe
def drift_list(request):
    records = selectors.drift_qs(open_only=request.GET.get("open") == "1")
    context = {"page_obj": paginate(request, records), "active_nav": "promotions"}
    return render(request, "approvals/drift_list.html", context)
