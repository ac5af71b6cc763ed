from django.urls import path

from events import api

urlpatterns = [
    path("subscriptions/", api.SubscriptionsView.as_view(), name="api-subscriptions"),
    path("subscriptions/<int:pk>", api.SubscriptionView.as_view(), name="api-subscription"),
    path("deliveries/", api.DeliveriesView.as_view(), name="api-deliveries"),
    path("deliveries/<int:pk>", api.DeliveryView.as_view(), name="api-delivery"),
    path("deliveries/<int:pk>/replay", api.ReplayView.as_view(), name="api-delivery-replay"),
]
