from django.urls import path

from lineage import views

urlpatterns = [
    # The digest is a query parameter and the model's graph sits under the model's own path: no path of
    # these can be read as another page's for a model named like it.
    path("lineage/dataset/", views.dataset_lineage, name="lineage-dataset"),
    path("lineage/<str:name>/<int:version>/", views.version_lineage, name="lineage-version"),
    path("lineage/<str:name>/<int:version>/compact/", views.version_compact, name="lineage-version-compact"),
    path("models/<str:name>/lineage/", views.model_lineage, name="lineage-model"),
]
