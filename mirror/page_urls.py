from django.urls import path

from mirror import views

urlpatterns = [
    path("models/", views.model_list, name="model-list"),
    path("models/<str:name>/", views.model_detail, name="model-detail"),
    path("models/<str:name>/versions/<int:version>/", views.version_detail, name="version-detail"),
    path("sync/", views.sync_status, name="sync-status"),
]
