from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from approvals import policy_views
from mirror import views, webhooks
from registry_ui import oidc

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("mirror.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("cards.api_urls")),
    path("", include("compare.api_urls")),
    path("", include("lineage.api_urls")),
    path("", include("events.api_urls")),
    path("", include("packager.api_urls")),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("", include("mirror.page_urls")),
    path("", include("approvals.urls")),
    path("", include("audit.urls")),
    path("policy/", policy_views.policy_page, name="policy"),  # governance's page; audit/ imports none of it
    path("", include("cards.urls")),
    path("", include("compare.urls")),
    path("", include("lineage.urls")),
    path("", include("events.urls")),
    path("", include("packager.urls")),
    path("accounts/login/", oidc.SsoAwareLoginView.as_view(), name="login"),
    path("oidc/", include("mozilla_django_oidc.urls")),  # single sign-on; 404 unless configured
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("webhooks/mlflow/", webhooks.mlflow_webhook, name="mlflow-webhook"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

# JSON `{"detail": ...}` under /api/ and /webhooks/, the styled pages elsewhere.
handler400 = "common.error_views.bad_request"
handler403 = "common.error_views.permission_denied"
handler404 = "common.error_views.page_not_found"
handler500 = "common.error_views.server_error"
