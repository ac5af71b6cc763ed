from django.urls import path

from lineage import views

urlpatterns = [
    # The digest is a query parameter: a path of its own could shadow a model named like the page.
    path("lineage/dataset/", views.dataset_lineage, name="lineage-dataset"),
    path("lineage/<str:name>/<int:version>/", views.version_lineage, name="lineage-version"),
]
