"""REST API v1 — the "Registry mirror" part of API.md. Views are short: access helper → selector → serializer."""

from __future__ import annotations

import datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import MlflowUnavailable
from mirror import access, gateway, selectors, services
from mirror.models import ModelVersion, RegisteredModel, SyncRun
from mirror.sync import start_sync


# --- serializers ----------------------------------------------------------------------------------
class RegisteredModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "description",
            "tags",
            "aliases",
            "version_count",
            "latest_version",
            "creation_timestamp",
            "last_updated_timestamp",
            "synced_at",
        ]


class RunSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    experiment_id = serializers.CharField()
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))  # null: NaN or ±Infinity
    params = serializers.DictField(child=serializers.CharField())
    tags = serializers.DictField(child=serializers.CharField())
    datasets = serializers.SerializerMethodField()

    def get_datasets(self, run) -> list[dict]:
        keys = ("name", "digest", "source_type", "source", "context")
        return [{k: d.get(k, "") for k in keys} for d in run.datasets]


class ModelVersionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    run = serializers.SerializerMethodField()
    mlflow_url = serializers.SerializerMethodField()
    signature = serializers.JSONField(allow_null=True, help_text="{inputs, outputs} or null")
    identical_to = serializers.SerializerMethodField(
        help_text="Versions of the same model with the same content_hash (byte-identical artifacts), oldest "
        "first; [] when none or not hashed yet."
    )
    semver = serializers.CharField(
        allow_null=True,
        read_only=True,
        help_text="MAJOR.MINOR.PATCH+<hash8> against the model's previous version; null until computed.",
    )
    authors = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Every identity MLflow recorded as the version's author: the version's user_id, its source "
        "run's user_id and the run's mlflow.user as first seen (segregation of duties uses these).",
    )

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "version",
            "stage",
            "status",
            "aliases",
            "tags",
            "description",
            "source",
            "run_id",
            "creator",
            "authors",
            "creation_timestamp",
            "last_updated_timestamp",
            "content_hash",
            "identical_to",
            "semver",
            "signature",
            "run",
            "mlflow_url",
        ]

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_run(self, mv) -> dict | None:
        return RunSerializer(mv.source_run).data if mv.source_run_id else None

    def get_identical_to(self, mv) -> list[int]:
        if not hasattr(mv, "identical_to"):
            selectors.with_identical([mv])  # views set it for a whole page at once (one query)
        return mv.identical_to

    def get_mlflow_url(self, mv) -> str:
        return gateway.version_ui_url(mv.model.name, mv.version)


class ModelVersionListSerializer(ModelVersionSerializer):
    """The list omits the run (its metrics and params can be large); the detail has it."""

    class Meta(ModelVersionSerializer.Meta):
        fields = [f for f in ModelVersionSerializer.Meta.fields if f != "run"]


class SyncRunSerializer(serializers.ModelSerializer):
    models = serializers.IntegerField(source="models_read")
    versions = serializers.IntegerField(source="versions_read")
    runs = serializers.IntegerField(source="runs_read")

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "kind",
            "status",
            "model_name",
            "started_at",
            "finished_at",
            "models",
            "versions",
            "runs",
            "created",
            "updated",
            "deleted",
            "progress",
            "error",
        ]


@extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
class EpochMillisField(serializers.Field):
    """MLflow's epoch milliseconds (what the mirror caches) as an ISO-8601 UTC string, like every API
    timestamp."""

    def to_representation(self, value):
        if value is None or isinstance(value, bool):
            return None
        at = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(milliseconds=int(value))
        return at.isoformat().replace("+00:00", "Z")


class MetricPointSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    timestamp = EpochMillisField()
    value = serializers.FloatField(allow_null=True)  # null: NaN or ±Infinity in MLflow


# --- views ----------------------------------------------------------------------------------------
@extend_schema(
    parameters=[
        OpenApiParameter("search", str, description="Substring of the model name"),
        OpenApiParameter("tag", str, description="KEY or KEY:VALUE"),
        OpenApiParameter("alias", str, description="Only models where this alias is set"),
        OpenApiParameter("sort", str, enum=list(selectors.MODEL_SORTS)),
    ]
)
class ModelListView(ListAPIView):
    serializer_class = RegisteredModelSerializer

    def get_queryset(self):
        return selectors.model_list(selectors.ModelFilters.parse(self.request.query_params))


class ModelDetailView(GenericAPIView):
    serializer_class = RegisteredModelSerializer

    def get(self, request, name: str):
        return Response(self.get_serializer(access.access_model(request.user, name)).data)


class VersionListView(ListAPIView):
    serializer_class = ModelVersionListSerializer

    def get_queryset(self):
        self.model = access.access_model(self.request.user, self.kwargs["name"])
        return selectors.version_list(self.model, with_run_facts=False)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        page = selectors.with_identical(selectors.of_model(page, self.model))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class VersionDetailView(GenericAPIView):
    serializer_class = ModelVersionSerializer

    def get(self, request, name: str, version: int):
        mv = access.access_version(request.user, name, version)
        return Response(self.get_serializer(selectors.with_identical([mv])[0]).data)


class MetricHistoryView(APIView):
    @extend_schema(responses=MetricPointSerializer(many=True))
    def get(self, request, name: str, version: int, key: str):
        mv = access.access_version(request.user, name, version)
        if mv.source_run is None:
            return Response({"detail": "This version has no source run in the mirror."}, status=404)
        if key not in mv.source_run.metrics:
            return Response({"detail": f"The source run has no metric {key!r}."}, status=404)
        try:
            points = services.metric_history(run=mv.source_run, key=key)
        except MlflowUnavailable as exc:
            return Response(
                {"detail": f"MLflow is unavailable and the history is not cached: {exc}"}, status=503
            )
        return Response(MetricPointSerializer(points, many=True).data)


class SyncView(APIView):
    @extend_schema(
        request=None,
        responses={202: inline_serializer("SyncQueued", {"id": serializers.IntegerField()})},
        description="Queue a full sync (staff only).",
    )
    def post(self, request):
        access.require_staff(request.user)
        run = start_sync(kind=SyncRun.Kind.FULL, requested_by=request.user.get_username())
        return Response({"id": run.pk}, status=status.HTTP_202_ACCEPTED)


class SyncRunListView(ListAPIView):
    serializer_class = SyncRunSerializer

    def get_queryset(self):
        return selectors.sync_runs()


class SyncRunDetailView(GenericAPIView):
    serializer_class = SyncRunSerializer

    def get(self, request, pk: int):
        return Response(self.get_serializer(access.access_sync_run(request.user, pk)).data)
