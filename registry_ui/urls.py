from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views, webhooks

api_v1 = [
    path("", include("registry_ui.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("approvals.audit.api_urls")),
    path("", include("registry_ui.cards.api_urls")),
    path("", include("registry_ui.compare.api_urls")),
    path("", include("lineage.api_urls")),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("", include("registry_ui.page_urls")),
    path("", include("approvals.urls")),
    path("", include("approvals.audit.urls")),
    path("", include("registry_ui.cards.urls")),
    path("", include("registry_ui.compare.urls")),
    path("", include("lineage.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    path("webhooks/mlflow/", webhooks.mlflow_webhook, name="mlflow-webhook"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

# JSON `{"detail": ...}` under /api/ and /webhooks/, the styled pages elsewhere.
handler400 = "registry_ui.error_views.bad_request"
handler403 = "registry_ui.error_views.permission_denied"
handler404 = "registry_ui.error_views.page_not_found"
handler500 = "registry_ui.error_views.server_error"
