"""Packaging pages: start a job from the version page, a job's page (polled while it runs), the jobs list, and
the download. Short functions: access helper → service or selector → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.errors import DomainError
from common.pages import paginate
from packager import access, downloads, panels, selectors, services
from packager.models import PackageJob


@login_required
@require_POST
def start_package(request, name: str, version: int):
    mv = access.access_version_to_package(request.user, name, version)
    try:
        job, created = services.request_package(user=request.user, mv=mv, fmt=request.POST.get("format"))
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("version-detail", name, version)
    if not created:
        messages.info(request, f"A {job.format} package of this version is already {job.state}: here it is.")
    return redirect("package-detail", job.pk)


@login_required
@require_GET
def version_packages(request, name: str, version: int):
    """The version page's panel alone: what it polls while a job runs."""
    mv = access.access_version_packages(request.user, name, version)
    return render(request, "packager/_version_panel.html", {"packages": panels.panel_context(request, mv)})


@login_required
@require_GET
def package_detail(request, pk: int):
    job = access.access_package(request.user, pk)
    template = "packager/_job.html" if request.htmx else "packager/detail.html"
    return render(request, template, {"job": job, "can_package": access.can_package(request.user)})


@login_required
@require_GET
def package_list(request):
    state = request.GET.get("state", "")
    if state not in PackageJob.State.values:
        state = ""
    model = request.GET.get("model", "").strip()[:256]
    context = {
        "page_obj": paginate(request, selectors.filter_jobs(state=state, model=model)),
        "states": PackageJob.State.values,
        "filters": {"state": state, "model": model},
    }
    return render(request, "packager/list.html", context)


@login_required
@require_GET
def package_download(request, pk: int):
    job = access.access_package(request.user, pk)
    try:
        return downloads.package_response(job)
    except downloads.Unavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
