from django.urls import path

from cards import api

card = "models/<str:name>/versions/<int:version>/card"

urlpatterns = [
    path(card, api.CardView.as_view(), name="api-card"),
    path(f"{card}/regenerate", api.CardRegenerateView.as_view(), name="api-card-regenerate"),
    path(f"{card}/revisions", api.RevisionListView.as_view(), name="api-card-revisions"),
    path(f"{card}/revisions/<int:revision>", api.RevisionDetailView.as_view(), name="api-card-revision"),
    path(f"{card}/diff", api.DiffView.as_view(), name="api-card-diff"),
    path(f"{card}/export", api.ExportView.as_view(), name="api-card-export"),
    path("cards/exports/", api.BulkExportListView.as_view(), name="api-card-bulk-exports"),
    path("cards/exports/<int:pk>/", api.BulkExportDetailView.as_view(), name="api-card-bulk-export"),
    path(
        "cards/exports/<int:pk>/download", api.BulkExportDownloadView.as_view(), name="api-card-bulk-download"
    ),
]
