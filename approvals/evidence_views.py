"""The auditors' evidence pack page: choose a target, see what the pack will hold, build it in the background
with progress, download it. Auditors and staff only (API.md "Roles"), like `GET /api/v1/evidence/`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from approvals import evidence_jobs
from approvals.evidence import DEFAULT_FORMATS, EVIDENCE_FORMATS, parse_formats
from approvals.models import EvidencePack
from audit.access import require_exporter
from common.downloads import zip_file_response
from common.errors import DomainError


def access_evidence_pack(user, pk: int) -> EvidencePack:
    require_exporter(user)
    job = EvidencePack.objects.filter(pk=pk).select_related("requested_by").first()
    if job is None:
        raise Http404("No such evidence pack.")
    return job


@login_required
@require_http_methods(["GET", "POST"])
def evidence_page(request):
    require_exporter(request.user)
    source = request.POST if request.method == "POST" else request.GET
    target = (source.get("target") or "").strip()
    context = {
        "active_nav": "audit",
        "targets": evidence_jobs.target_names(),
        "target": target,
        "formats": EVIDENCE_FORMATS,
        "chosen_formats": list(DEFAULT_FORMATS),
        "jobs": EvidencePack.objects.select_related("requested_by")[:20],
    }
    status = 200
    try:
        formats = parse_formats(",".join(source.getlist("formats")))
        context["chosen_formats"] = formats
        if request.method == "POST":
            job = evidence_jobs.request_evidence_pack(user=request.user, target=target, formats=formats)
            return redirect("approvals:evidence-detail", pk=job.pk)
        if target:
            context["preview"] = evidence_jobs.preview(target)
    except DomainError as exc:
        context["error"] = str(exc)
        status = 400
    return render(request, "approvals/evidence.html", context, status=status)


@login_required
@require_GET
def evidence_detail(request, pk: int):
    job = access_evidence_pack(request.user, pk)
    template = "approvals/_evidence_job.html" if request.htmx else "approvals/evidence_detail.html"
    context = {
        "job": job,
        "poll_url": reverse("approvals:evidence-detail", args=[job.pk]),
        "active_nav": "audit",
    }
    return render(request, template, context)


@login_required
@require_GET
def evidence_download(request, pk: int):
    job = access_evidence_pack(request.user, pk)
    response = None
    if job.state == EvidencePack.State.SUCCEEDED:
        filename = f"evidence-{job.target}-{job.created_at:%Y%m%dT%H%M%SZ}-{job.pk}.zip"
        response = zip_file_response(job.file_path, filename)
    if response is None:
        raise Http404("This evidence pack has no file (not finished, failed, or cleaned up).")
    return response
