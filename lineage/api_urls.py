from django.urls import path

from lineage import api

urlpatterns = [
    path("datasets/flags/", api.DatasetFlagsView.as_view(), name="api-dataset-flags"),
    path("datasets/flags/<str:digest>", api.DatasetFlagView.as_view(), name="api-dataset-flag"),
    path("lineage/impact/", api.ImpactView.as_view(), name="api-lineage-impact"),
    path("lineage/<str:name>/<int:version>/", api.VersionLineageView.as_view(), name="api-lineage-version"),
    path(
        "lineage/<str:name>/<int:version>/openlineage",
        api.OpenLineageView.as_view(),
        name="api-lineage-openlineage",
    ),
]
