"""REST API v1 — the "Packaging" part of API.md: ask for a package (202 new, 200 the live one), read a job,
list a version's jobs or every job, and download a succeeded package (served from MLflow through the gateway)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import InvalidInput
from common.safejson import BoundedJSONParser
from packager import access, downloads, selectors, services
from packager.models import PackageJob

_STEP = {
    "name": serializers.CharField(),
    "started_at": serializers.DateTimeField(allow_null=True),
    "finished_at": serializers.DateTimeField(allow_null=True),
}
_PROGRESS = inline_serializer(
    "PackageProgress",
    {
        "step": serializers.CharField(help_text="The current (or last) step; empty before the first."),
        "percent": serializers.IntegerField(),
        "steps": inline_serializer("PackageStep", _STEP, many=True),
    },
)
_PARITY = inline_serializer(
    "PackageParity",
    {
        "rows": serializers.IntegerField(),
        "max_abs_diff": serializers.FloatField(),
        "passed": serializers.BooleanField(),
        "tolerance": serializers.FloatField(),
    },
    allow_null=True,
)


class PackageJobSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.IntegerField(source="version.version")
    requested_by = serializers.CharField(source="requested_by.username")
    progress = serializers.SerializerMethodField()
    parity = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = PackageJob
        fields = ["id", "model", "version", "format", "state", "progress", "sha256", "size_bytes", "opset",
                  "parity", "io", "artifact_uri", "error", "requested_by", "attempts", "created_at",
                  "started_at", "finished_at", "download_url"]  # fmt: skip

    @extend_schema_field(_PROGRESS)
    def get_progress(self, job) -> dict:
        return {"step": job.step, "percent": job.percent, "steps": job.steps}

    @extend_schema_field(_PARITY)
    def get_parity(self, job) -> dict | None:
        return job.parity

    def get_download_url(self, job) -> str | None:
        if job.state != PackageJob.State.SUCCEEDED or not job.artifact_uri:
            return None
        return f"/api/v1/packages/{job.pk}/download"


class PackageRequestSerializer(serializers.Serializer):
    format = serializers.CharField(help_text="onnx | torchscript | joblib | savedmodel")


class VersionPackagesView(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        request=PackageRequestSerializer,
        responses={
            200: PackageJobSerializer,
            202: PackageJobSerializer,
            400: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
        },  # fmt: skip
        summary="Package a version in a format (202 a new job; 200 the queued, running or succeeded one)",
    )
    def post(self, request, name: str, version: int):
        mv = access.access_version_to_package(request.user, name, version)
        data = request.data
        if not isinstance(data, dict):
            raise InvalidInput("Send a JSON object {format}.")
        job, created = services.request_package(user=request.user, mv=mv, fmt=data.get("format"))
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(PackageJobSerializer(job).data, status=code)

    @extend_schema(
        responses=PackageJobSerializer(many=True), summary="A version's packaging jobs, newest first"
    )
    def get(self, request, name: str, version: int):
        mv = access.access_version_packages(request.user, name, version)
        return Response(PackageJobSerializer(selectors.jobs_of_version(mv), many=True).data)


class PackageListView(ListAPIView):
    serializer_class = PackageJobSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=list(PackageJob.State.values)),
            OpenApiParameter("model", str),
        ],
        summary="Every packaging job, newest first",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        access.access_any_packages(self.request.user)
        state = self.request.query_params.get("state", "")
        if state and state not in PackageJob.State.values:
            raise InvalidInput(f"state is one of {', '.join(PackageJob.State.values)}.", field="state")
        return selectors.filter_jobs(state=state, model=self.request.query_params.get("model", ""))


class PackageDetailView(APIView):
    @extend_schema(responses=PackageJobSerializer, summary="A packaging job: state, progress, results")
    def get(self, request, pk: int):
        return Response(PackageJobSerializer(access.access_package(request.user, pk)).data)


class PackageDownloadView(APIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            404: OpenApiTypes.OBJECT,
            503: OpenApiTypes.OBJECT,
        },
        summary="Download a succeeded package (read from MLflow, streamed)",
    )
    def get(self, request, pk: int):
        job = access.access_package(request.user, pk)
        try:
            return downloads.package_response(job)
        except downloads.Unavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
