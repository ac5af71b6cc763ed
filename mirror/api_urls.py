from django.urls import path

from mirror import api

urlpatterns = [
    path("models/", api.ModelListView.as_view(), name="api-models"),
    path("models/<str:name>/", api.ModelDetailView.as_view(), name="api-model"),
    path("models/<str:name>/versions/", api.VersionListView.as_view(), name="api-versions"),
    path("models/<str:name>/versions/<int:version>/", api.VersionDetailView.as_view(), name="api-version"),
    path(
        "models/<str:name>/versions/<int:version>/metrics/<str:key>/history",
        api.MetricHistoryView.as_view(),
        name="api-metric-history",
    ),
    path("sync/", api.SyncView.as_view(), name="api-sync"),
    path("sync/runs/", api.SyncRunListView.as_view(), name="api-sync-runs"),
    path("sync/runs/<int:pk>/", api.SyncRunDetailView.as_view(), name="api-sync-run"),
]
