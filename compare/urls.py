from django.urls import path

from compare import views

urlpatterns = [
    path("compare/", views.compare, name="compare"),
    path("compare/csv", views.compare_csv, name="compare-csv"),
    path("compare/holders/<str:name>/<int:version>/", views.target_holders, name="compare-target-holders"),
]
