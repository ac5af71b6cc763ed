"""REST API v1 — the "Lineage" part of API.md."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import InvalidInput
from common.query import query_flag
from lineage import flags, impact, openlineage, selectors
from mirror import access


class NodeSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="TYPE:KEY, unique in the answer (`dataset:<digest>`, `run:<run_id>`, ...)"
    )
    type = serializers.ChoiceField(
        choices=[
            "dataset",
            "run",
            "code",
            "logged_model",
            "model_version",
            "registered_model",
            "target",
            "promotion",
            "package",
        ]  # fmt: skip
    )
    label = serializers.CharField()
    attrs = serializers.DictField(
        help_text="The node's facts (a dataset's digest, source and `malformed` list ...)"
    )


class EdgeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    type = serializers.ChoiceField(
        choices=[
            "trained_on", "evaluated_on", "child_of", "built_from", "logged_as", "registered_as",
            "version_of", "packaged_as", "holds", "held", "promoted_by",
        ]
    )  # fmt: skip
    attrs = serializers.DictField(help_text="A dataset edge's `context` tag, a holding's dates ...")


class LineageGraphSerializer(serializers.Serializer):
    nodes = NodeSerializer(many=True)
    edges = EdgeSerializer(many=True)
    depth = serializers.IntegerField(help_text="The depth applied (hops from the version)")
    truncated = serializers.BooleanField(
        help_text="Nodes lay beyond `depth` or the node limit and are left out"
    )
    notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Sentences: a clamped depth, a graph cut to the node limit ...",
    )
    node_limit = serializers.IntegerField(help_text="The most nodes an answer holds (LINEAGE_MAX_NODES)")


def parse_depth(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        depth = int(raw)
    except ValueError:
        raise InvalidInput(f"depth must be a whole number from 1 up, not {raw[:40]!r}.") from None
    if depth < 1:
        raise InvalidInput(f"depth must be 1 or more, not {depth}.")
    return depth


class VersionLineageView(APIView):
    @extend_schema(
        summary="A version's lineage: data, runs, code, targets and promotions as a graph",
        parameters=[
            OpenApiParameter(
                "depth",
                {"type": "integer", "minimum": 1},
                description="Hops from the version (default and maximum: LINEAGE_MAX_DEPTH)",
            )
        ],
        responses={
            200: LineageGraphSerializer,
            400: OpenApiResponse(description="depth is not a whole number from 1 up"),
            404: OpenApiResponse(description="No such model or version"),
        },
    )
    def get(self, request, name: str, version: int):
        depth = parse_depth(request.query_params.get("depth"))
        mv = access.access_version(request.user, name, version)
        return Response(selectors.version_graph(mv, depth).as_dict())


class OpenLineageView(APIView):
    @extend_schema(
        summary="A version's lineage as OpenLineage run events (one COMPLETE RunEvent per run)",
        responses={
            200: OpenApiResponse(
                description="A JSON array of OpenLineage RunEvents: job = the run's experiment and name, inputs = "
                "its datasets, outputs = the version as the dataset `models:/<name>/<version>`"
            ),
            404: OpenApiResponse(description="No such model or version"),
        },
    )
    def get(self, request, name: str, version: int):
        mv = access.access_version(request.user, name, version)
        return Response(openlineage.version_events(mv))


class ImpactVersionSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    run_id = serializers.CharField()
    targets = serializers.ListField(child=serializers.CharField(), help_text="The targets it holds now")
    aliases = serializers.ListField(child=serializers.CharField(), help_text="Its MLflow aliases now")
    stage = serializers.CharField()


class ImpactSerializer(serializers.Serializer):
    dataset = serializers.DictField(
        allow_null=True, help_text="The dataset asked about: digests, names, sources"
    )
    code = serializers.DictField(allow_null=True, help_text="The commit asked about: full SHAs, repositories")
    run = serializers.DictField(allow_null=True, help_text="The run asked about")
    runs = serializers.ListField(
        child=serializers.CharField(), help_text="The runs downstream (descendants too)"
    )
    versions = ImpactVersionSerializer(many=True)
    summary = serializers.CharField(help_text='"3 versions, 1 in production"')


class ImpactView(APIView):
    @extend_schema(
        summary="Impact: the versions downstream of a dataset, commit or run, and the targets they hold",
        parameters=[
            OpenApiParameter("dataset_digest", str, description="A dataset's digest"),
            OpenApiParameter("dataset_source", str, description="A dataset's source (URI or path)"),
            OpenApiParameter("commit", str, description="A git commit SHA (7 characters or more: a prefix)"),
            OpenApiParameter("run_id", str, description="An MLflow run id"),
        ],
        responses={
            200: ImpactSerializer,
            400: OpenApiResponse(description="Not exactly one of the parameters"),
            404: OpenApiResponse(description="Nothing in the mirror matches"),
        },
    )
    def get(self, request):
        return Response(impact.impact(request.query_params.dict()).as_dict())


class DatasetFlagSerializer(serializers.Serializer):
    digest = serializers.CharField()
    reason = serializers.CharField()
    flagged_by = serializers.CharField()
    flagged_at = serializers.DateTimeField()
    lifted_by = serializers.CharField(allow_null=True)
    lifted_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField(help_text="Not lifted: the gate training_data_not_flagged blocks on it")


class DatasetFlagRequestSerializer(serializers.Serializer):
    digest = serializers.CharField(help_text="The dataset's digest, as MLflow logged it")
    reason = serializers.CharField(help_text="Why the dataset is wrong (named by the gate that blocks on it)")


class DatasetFlagsView(APIView):
    @extend_schema(
        summary="Dataset flags, newest first (lifted ones too, unless ?active=true)",
        parameters=[OpenApiParameter("active", bool, description="true: only the flags not lifted")],
        responses={200: DatasetFlagSerializer(many=True)},
    )
    def get(self, request):
        active_only = query_flag(request.query_params, "active")
        return Response([flags.as_dict(f) for f in flags.listing(include_lifted=not active_only)])

    @extend_schema(
        summary="Staff: flag a dataset as wrong (audited); promotions of versions trained on it are blocked",
        request=DatasetFlagRequestSerializer,
        responses={
            201: DatasetFlagSerializer,
            400: OpenApiResponse(description="digest or reason missing or too long"),
            403: OpenApiResponse(description="not staff"),
            409: OpenApiResponse(description="the dataset is flagged already"),
        },
    )
    def post(self, request):
        access.require_staff(request.user)
        f = flags.flag(user=request.user, data=request.data)
        return Response(flags.as_dict(f), status=status.HTTP_201_CREATED)


class DatasetFlagView(APIView):
    @extend_schema(
        summary="Staff: lift a dataset's flag (audited; the flag stays listed as lifted)",
        responses={
            204: None,
            403: OpenApiResponse(description="not staff"),
            404: OpenApiResponse(description="no active flag on the digest"),
        },
    )
    def delete(self, request, digest: str):
        access.require_staff(request.user)
        flags.lift(user=request.user, digest=digest)
        return Response(status=status.HTTP_204_NO_CONTENT)
