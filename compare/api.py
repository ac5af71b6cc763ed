"""REST API v1 — the "Comparison" part of API.md, and the chart endpoints the comparison page fetches."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from compare import charts, history, refs, selectors, step_series
from mirror import access, services

SELECTION_PARAMETERS = [
    OpenApiParameter("model", str, description="Model name, with `versions`"),
    OpenApiParameter(
        "versions", str, description="Comma-separated version numbers of `model` (or the parameter repeated)"
    ),
    OpenApiParameter("refs", str, description="Comma-separated NAME:VERSION, across models"),
]
METRIC_PARAMETER = OpenApiParameter("metric", str, required=True, description="Metric key")


class TrendPointSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True)
    aliases = serializers.ListField(child=serializers.CharField())


FIGURE = inline_serializer(
    "PlotlyFigure",
    {
        "data": serializers.ListField(child=serializers.DictField()),
        "layout": serializers.DictField(),
        "config": serializers.DictField(required=False),
    },
)


def _by_label(value: serializers.Field, **kwargs) -> serializers.DictField:
    """{key: {"NAME:VERSION": value}}: one row per key, one column per compared version."""
    return serializers.DictField(child=serializers.DictField(child=value), **kwargs)


COMPARISON = inline_serializer(
    "Comparison",
    {
        "versions": serializers.ListField(child=serializers.DictField()),
        "metrics": _by_label(
            serializers.FloatField(allow_null=True), help_text='{metric: {"NAME:VERSION": value or null}}'
        ),
        "params": _by_label(serializers.CharField(allow_null=True)),
        "tags": _by_label(serializers.CharField(allow_null=True)),
        "differing_params": serializers.ListField(child=serializers.CharField()),
        "differing_tags": serializers.ListField(child=serializers.CharField()),
        "metric_goals": serializers.DictField(child=serializers.CharField()),
        "primary_metrics": serializers.ListField(child=serializers.CharField()),
        "best": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        "deltas": _by_label(serializers.FloatField(allow_null=True)),
        "datasets": _by_label(serializers.CharField(allow_null=True)),
        "differing_datasets": serializers.ListField(child=serializers.CharField()),
        "signatures": serializers.DictField(child=serializers.DictField()),
        "identical_artifacts": serializers.ListField(
            child=serializers.ListField(child=serializers.CharField())
        ),
        "cards": serializers.DictField(allow_null=True, child=serializers.DictField(allow_null=True)),
        "charts": serializers.DictField(child=serializers.DictField(), help_text="{name: plotly figure}"),
    },
)


class CompareView(APIView):
    @extend_schema(
        parameters=[
            *SELECTION_PARAMETERS,
            OpenApiParameter("x", str, description="Scatter chart's x metric"),
            OpenApiParameter("y", str, description="Scatter chart's y metric"),
        ],
        responses=COMPARISON,
        description="Side-by-side comparison of up to 20 versions (400 naming any bad value).",
    )
    def get(self, request):
        versions = refs.selection(request.query_params)
        return Response(
            selectors.comparison(
                versions, scatter_x=request.query_params.get("x"), scatter_y=request.query_params.get("y")
            )
        )


class HistoryChartView(APIView):
    @extend_schema(
        parameters=[*SELECTION_PARAMETERS, METRIC_PARAMETER],
        responses=inline_serializer(
            "HistoryChart",
            {"metric": serializers.CharField(), "figure": FIGURE, "skipped": serializers.DictField()},
        ),
        description="A metric's histories over steps for the selected versions, overlaid, at most 2,000 "
        "points a line (first, last, minima and maxima kept). Histories are fetched from MLflow on "
        "demand and cached in the mirror.",
    )
    def get(self, request):
        versions = refs.selection(request.query_params)
        metric = selectors.check_metric(request.query_params.get("metric", ""), versions)
        series, skipped = history.history_series(versions, metric, services.metric_history)
        return Response(
            {
                "metric": metric,
                "figure": step_series.history_lines(series, metric, compacted=True),
                "skipped": skipped,
            }
        )


NO_METRIC = {"detail": "Choose a metric: metric=KEY.", "field": "metric"}


def _model_and_metric(request, name: str):
    """The model (access checked) and the metric asked for, else its primary metric ("" when neither)."""
    model = access.access_model(request.user, name)
    return model, (request.query_params.get("metric") or model.primary_metric or "").strip()


class TrendView(APIView):
    @extend_schema(parameters=[METRIC_PARAMETER], responses=TrendPointSerializer(many=True))
    def get(self, request, name: str):
        model, metric = _model_and_metric(request, name)
        if not metric:
            return Response(NO_METRIC, status=400)
        return Response(history.trend_points(model, metric))


class TrendChartView(APIView):
    @extend_schema(parameters=[METRIC_PARAMETER], responses=FIGURE)
    def get(self, request, name: str):
        model, metric = _model_and_metric(request, name)
        if not metric:
            return Response(NO_METRIC, status=400)
        return Response(charts.trend(history.trend_points(model, metric), metric))


class ParallelChartView(APIView):
    @extend_schema(parameters=[METRIC_PARAMETER], responses=FIGURE)
    def get(self, request, name: str):
        model, metric = _model_and_metric(request, name)
        if not metric:
            return Response(NO_METRIC, status=400)
        rows, params = history.parallel_rows(model, metric)
        return Response(charts.parallel_coordinates(rows, params, metric))
