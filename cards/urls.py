from django.urls import path

from cards import views

card = "models/<str:name>/versions/<int:version>/card"

urlpatterns = [
    path(f"{card}/", views.card_detail, name="card-detail"),
    path(f"{card}/edit/", views.card_edit, name="card-edit"),
    path(f"{card}/preview/", views.card_preview, name="card-preview"),
    path(f"{card}/regenerate/", views.card_regenerate, name="card-regenerate"),
    path(f"{card}/revisions/", views.card_revisions, name="card-revisions"),
    path(f"{card}/revisions/<int:revision>/", views.card_revision, name="card-revision"),
    path(f"{card}/diff/", views.card_diff, name="card-diff"),
    path(f"{card}/export/", views.card_export, name="card-export"),
    path("cards/exports/", views.bulk_export, name="card-bulk-export"),
    path("cards/exports/<int:pk>/", views.bulk_export_detail, name="card-bulk-export-detail"),
    path("cards/exports/<int:pk>/download/", views.bulk_export_download, name="card-bulk-export-download"),
]
