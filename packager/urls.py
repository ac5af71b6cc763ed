from django.urls import path

from packager import views

urlpatterns = [
    path(
        "models/<str:name>/versions/<int:version>/packages/", views.version_packages, name="version-packages"
    ),
    path(
        "models/<str:name>/versions/<int:version>/packages/start/", views.start_package, name="package-start"
    ),
    path("packages/", views.package_list, name="package-list"),
    path("packages/<int:pk>/", views.package_detail, name="package-detail"),
    path("packages/<int:pk>/download/", views.package_download, name="package-download"),
]
