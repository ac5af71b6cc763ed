from django.urls import path

from lineage import api

urlpatterns = [
    path("lineage/impact/", api.ImpactView.as_view(), name="api-lineage-impact"),
    path("lineage/<str:name>/<int:version>/", api.VersionLineageView.as_view(), name="api-lineage-version"),
]
