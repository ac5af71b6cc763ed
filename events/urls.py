from django.urls import path

from events import views

urlpatterns = [
    path("events/", views.subscription_list, name="events-subscriptions"),
    path(
        "events/subscriptions/<int:pk>/delete/", views.subscription_delete, name="events-subscription-delete"
    ),
    path("events/deliveries/", views.delivery_list, name="events-deliveries"),
    path("events/deliveries/<int:pk>/", views.delivery_detail, name="events-delivery"),
    path("events/deliveries/<int:pk>/replay/", views.delivery_replay, name="events-delivery-replay"),
]
