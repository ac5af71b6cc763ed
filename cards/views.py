"""Model card pages: view, edit with live preview (htmx), revisions, diff, export, bulk export for auditors."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cards import access, bulk, exports, selectors, services
from cards.api import bulk_download_response, export_response
from cards.completeness import score_card
from cards.rendering import FrontMatterError, RenderError, front_matter_rows, render_markdown, sanitize_html
from cards.rendering import render_body as markdown_module_render
from cards.sections import LABELS
from common.errors import DomainError, PreconditionFailed
from mirror.models import RegisteredModel


def _missing_labels(missing) -> list[str]:
    return [LABELS.get(m, m) for m in missing]


def _card_context(mv, rev, user) -> dict:
    return {
        "model": mv.model,
        "mv": mv,
        "rev": rev,
        "card_html": selectors.revision_html(rev.pk),
        "front_rows": front_matter_rows(rev.front_matter or {}),
        "missing_labels": _missing_labels(rev.missing),
        "score_percent": round(100 * rev.score),
        "can_edit": access.can_edit_cards(user),
        "formats": list(exports.FORMATS),
    }


@login_required
@require_GET
def card_detail(request, name: str, version: int):
    mv = access.access_card(request.user, name, version)
    rev = selectors.latest_revision_meta(mv) or services.ensure_card(mv=mv)
    return render(request, "cards/card_detail.html", _card_context(mv, rev, request.user))


@login_required
@require_http_methods(["GET", "POST"])
def card_edit(request, name: str, version: int):
    mv = access.access_card_for_edit(request.user, name, version)
    current = services.ensure_card(mv=mv)
    context = {"model": mv.model, "mv": mv, "rev": current, "markdown": current.markdown, "comment": ""}
    status = 200
    if request.method == "POST":
        markdown = request.POST.get("markdown", "").replace("\r\n", "\n")
        comment = request.POST.get("comment", "")
        try:
            base = int(request.POST.get("base_revision", ""))
        except ValueError:
            return HttpResponseBadRequest("base_revision must be a revision number.")
        try:
            rev = services.save_card(
                mv=mv, markdown=markdown, comment=comment, author=request.user, base_revision=base
            )
        except PreconditionFailed:
            # Someone saved since this edit began: show both texts, keep the user's, base on the new revision.
            latest = selectors.latest_revision(mv)
            context.update(
                rev=latest,
                markdown=markdown,
                comment=comment,
                conflict={
                    "base": base,
                    "theirs": latest,
                    "diff_html": services.diff_table_html(
                        latest.markdown,
                        markdown,
                        from_label=f"revision {latest.revision} (saved by {latest.author})",
                        to_label="your text",
                    ),  # fmt: skip
                },
            )
            status = 409
        except DomainError as exc:
            context.update(markdown=markdown, comment=comment, error=str(exc), base=base)
            status = exc.status
        else:
            messages.success(request, f"Saved card revision {rev.revision}.")
            return redirect("card-detail", name=mv.model.name, version=mv.version)
    context["base"] = (
        context["rev"].revision if "conflict" in context else context.get("base", current.revision)
    )
    context["preview_html"] = _preview(context["markdown"])
    return render(request, "cards/card_edit.html", context, status=status)


def _preview(markdown: str) -> dict:
    error, front, html = None, {}, ""
    try:
        front = services.validate_markdown(markdown)
    except services.CardTooLarge as exc:
        return {"html": "", "error": str(exc), "front_rows": [], "score_percent": 0, "missing_labels": []}
    except DomainError as exc:
        error = str(exc)
    try:
        try:
            html = render_markdown(markdown)
        except FrontMatterError:
            html = sanitize_html(markdown_module_render(markdown))
    except RenderError as exc:
        error, html = str(exc), ""
    score, missing = score_card(markdown)
    return {
        "html": html,
        "error": error,
        "front_rows": front_matter_rows(front),
        "score_percent": round(100 * score),
        "missing_labels": _missing_labels(missing),
    }


@login_required
@require_POST
def card_preview(request, name: str, version: int):
    """htmx: the editor's live preview, rendered server-side through the same sanitiser."""
    access.access_card_for_edit(request.user, name, version)
    if not _preview_allowed(request.user):
        response = HttpResponse("Too many previews; the preview resumes within a minute.", status=429,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
        response["Retry-After"] = "60"
        return response
    markdown = request.POST.get("markdown", "").replace("\r\n", "\n")
    return render(request, "cards/_preview.html", {"preview_html": _preview(markdown)})


def _preview_allowed(user) -> bool:
    """At most CARD_PREVIEWS_PER_MINUTE previews per user and clock minute (each one renders a card)."""
    key = f"cards:preview-rate:{user.pk}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=90)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=90)
        count = 1
    return count <= settings.CARD_PREVIEWS_PER_MINUTE


@login_required
@require_POST
def card_regenerate(request, name: str, version: int):
    mv = access.access_card_for_edit(request.user, name, version)
    try:
        base = int(request.POST.get("base_revision", ""))
        rev = services.regenerate_card(mv=mv, author=request.user, base_revision=base)
    except ValueError:
        return HttpResponseBadRequest("base_revision must be a revision number.")
    except PreconditionFailed as exc:
        messages.error(request, f"Not regenerated: {exc} Reload and try again.")
    except DomainError as exc:  # the refreshed card is refused (over the size limit, nests too deep)
        messages.error(request, f"Not regenerated: {exc}")
    else:
        messages.success(request, f"Generated sections refreshed (revision {rev.revision}).")
    return redirect("card-detail", name=mv.model.name, version=mv.version)


@login_required
@require_GET
def card_revisions(request, name: str, version: int):
    mv = access.access_card(request.user, name, version)
    services.ensure_card(mv=mv)
    revs = selectors.revisions(mv)
    return render(request, "cards/revisions.html", {"model": mv.model, "mv": mv, "revisions": revs})


@login_required
@require_GET
def card_revision(request, name: str, version: int, revision: int):
    mv = access.access_card(request.user, name, version)
    rev = selectors.get_revision(mv, revision)
    if rev is None:
        raise Http404(f"Card revision {revision} does not exist.")
    context = _card_context(mv, rev, request.user)
    context["latest"] = selectors.card_status(mv)["revision"]
    return render(request, "cards/card_detail.html", context)


@login_required
@require_GET
def card_diff(request, name: str, version: int):
    mv = access.access_card(request.user, name, version)
    latest = services.ensure_card(mv=mv).revision
    try:
        to = services.parse_revision_number(request.GET.get("to"), field="to") or latest
        frm = services.parse_revision_number(request.GET.get("from"), field="from") or max(1, to - 1)
    except DomainError:
        return HttpResponseBadRequest("from and to must be revision numbers.")
    try:
        html = services.card_diff_html(mv, frm, to)
    except DomainError as exc:
        raise Http404(str(exc)) from None
    context = {"model": mv.model, "mv": mv, "frm": frm, "to": to, "diff_html": html, "latest": latest,
               "revisions": selectors.revisions(mv)}  # fmt: skip
    return render(request, "cards/diff.html", context)


@login_required
@require_GET
def card_export(request, name: str, version: int):
    mv = access.access_card(request.user, name, version)
    try:
        fmt = exports.check_format(request.GET.get("format"))
    except DomainError:  # never echo the input back: this answer is a page, read as HTML
        return HttpResponseBadRequest(
            f"Unknown export format; the formats are: {', '.join(exports.FORMATS)}."
        )
    rev = services.ensure_card(mv=mv)
    return export_response(exports.export_card(mv, rev, fmt))


# --- bulk export ---------------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def bulk_export(request):
    access.require_bulk_exporter(request.user)
    aliases = sorted(
        {a for row in RegisteredModel.objects.live().values_list("aliases", flat=True) for a in row}
    )
    context = {
        "models": list(RegisteredModel.objects.live().values_list("name", flat=True)[:2000]),
        "aliases": aliases,
        "formats": list(exports.FORMATS),
        "default_formats": bulk.DEFAULT_FORMATS,
        "jobs": bulk.BulkExport.objects.select_related("requested_by")[:20],
    }
    if request.method == "POST":
        try:
            job = bulk.request_bulk_export(
                user=request.user,
                model_names=request.POST.getlist("models"),
                alias=request.POST.get("alias", ""),
                formats=request.POST.getlist("formats") or None,
            )
        except DomainError as exc:
            context["error"] = str(exc)
            return render(request, "cards/bulk_export.html", context, status=400)
        return redirect("card-bulk-export-detail", pk=job.pk)
    return render(request, "cards/bulk_export.html", context)


@login_required
@require_GET
def bulk_export_detail(request, pk: int):
    job = access.access_bulk_export(request.user, pk)
    template = "cards/_bulk_job.html" if request.htmx else "cards/bulk_export_detail.html"
    return render(
        request, template, {"job": job, "poll_url": reverse("card-bulk-export-detail", args=[job.pk])}
    )


@login_required
@require_GET
def bulk_export_download(request, pk: int):
    job = access.access_bulk_export(request.user, pk)
    try:
        return bulk_download_response(job)
    except DomainError as exc:
        raise Http404(str(exc)) from None
