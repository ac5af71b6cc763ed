from django.urls import path

from accounts import api

urlpatterns = [
    path("tokens/", api.TokensView.as_view(), name="api-tokens"),
    path("tokens/<int:id>", api.TokenView.as_view(), name="api-token"),
    path("service-accounts/", api.ServiceAccountsView.as_view(), name="api-service-accounts"),
]
