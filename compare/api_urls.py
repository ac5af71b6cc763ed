from django.urls import path

from compare import api

urlpatterns = [
    path("compare/", api.CompareView.as_view(), name="api-compare"),
    path("compare/history", api.HistoryChartView.as_view(), name="api-compare-history"),
    path("models/<str:name>/trend", api.TrendView.as_view(), name="api-model-trend"),
    path("models/<str:name>/trend/chart", api.TrendChartView.as_view(), name="api-model-trend-chart"),
    path(
        "models/<str:name>/parallel/chart", api.ParallelChartView.as_view(), name="api-model-parallel-chart"
    ),
]
