"""Serving a succeeded package: read from MLflow (where it is kept, beside the model) through the gateway and
streamed to the client in chunks, never held in memory."""

from __future__ import annotations

from django.http import FileResponse, Http404

from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mirror import gateway
from packager.models import PackageJob


class Unavailable(Exception):
    """MLflow could not be reached: the caller answers 503."""


def open_package(job: PackageJob):
    """(file, size) of a succeeded job's package; Http404 when there is none, Unavailable when MLflow is down."""
    if job.state != PackageJob.State.SUCCEEDED or not job.artifact_uri:
        raise Http404("This package is not built (yet): only a succeeded job has a file.")
    try:
        return gateway.open_artifact(job.artifact_uri)
    except (MlflowNotFound, MlflowRejected):
        raise Http404("MLflow no longer holds this package; package the version again.") from None
    except MlflowUnavailable as exc:
        raise Unavailable("MLflow is unreachable; try the download again later.") from exc


def package_response(job: PackageJob) -> FileResponse:
    """The package as an attachment named after the model, version and format (Unavailable: MLflow is down)."""
    handle, size = open_package(job)
    response = FileResponse(handle, as_attachment=True, filename=download_name(job))
    response["Content-Length"] = str(size)
    response["X-Package-SHA256"] = job.sha256
    return response


def download_name(job: PackageJob) -> str:
    mv = job.version
    return f"{mv.model.name}-v{mv.version}-{job.format}-{job.filename}"
