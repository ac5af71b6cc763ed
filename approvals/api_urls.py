from django.urls import path

from approvals import api

urlpatterns = [
    path("targets/", api.TargetListView.as_view(), name="api-targets"),
    path("promotions/", api.PromotionListView.as_view(), name="api-promotions"),
    path("promotions/<int:pk>/", api.PromotionDetailView.as_view(), name="api-promotion"),
    path("promotions/<int:pk>/approve", api.PromotionApproveView.as_view(), name="api-promotion-approve"),
    path("promotions/<int:pk>/reject", api.PromotionRejectView.as_view(), name="api-promotion-reject"),
    path("promotions/<int:pk>/cancel", api.PromotionCancelView.as_view(), name="api-promotion-cancel"),
    path("promotions/<int:pk>/recheck", api.PromotionRecheckView.as_view(), name="api-promotion-recheck"),
    path("rollbacks/", api.RollbackCreateView.as_view(), name="api-rollbacks"),
    path("drift/", api.DriftListView.as_view(), name="api-drift"),
    path("evidence/", api.EvidenceView.as_view(), name="api-evidence"),
    path("models/<str:name>/history", api.ModelHistoryView.as_view(), name="api-model-history"),
    path("models/<str:name>/history/adopt", api.HolderAdoptView.as_view(), name="api-model-holder-adopt"),
]
