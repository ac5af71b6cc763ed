from django.urls import path

from lineage import views

urlpatterns = [
    path("lineage/<str:name>/<int:version>/", views.version_lineage, name="lineage-version"),
]
