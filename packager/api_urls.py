from django.urls import path

from packager import api

urlpatterns = [
    path(
        "models/<str:name>/versions/<int:version>/packages",
        api.VersionPackagesView.as_view(),
        name="api-version-packages",
    ),
    path("packages/", api.PackageListView.as_view(), name="api-packages"),
    path("packages/<int:pk>", api.PackageDetailView.as_view(), name="api-package"),
    path("packages/<int:pk>/download", api.PackageDownloadView.as_view(), name="api-package-download"),
]
