"""REST API v1 — outbound events: subscriptions, the delivery log, replay (staff only)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from events import access, outbox, selectors, subscriptions
from events.catalog import EVENTS
from events.models import Delivery, Subscription

NOT_STAFF = OpenApiResponse(description="not staff")


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS))
    format = serializers.ChoiceField(choices=Subscription.Format.values)
    description = serializers.CharField()
    active = serializers.BooleanField(help_text="false once deleted (its deliveries stay listed)")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    deleted_by = serializers.CharField(allow_null=True)
    deleted_at = serializers.DateTimeField(allow_null=True)


class CreatedSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(help_text="The HMAC secret, shown in this answer only")


class SubscriptionRequestSerializer(serializers.Serializer):
    url = serializers.CharField(
        help_text="http(s) URL; loopback, link-local and private addresses are refused"
    )
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS), allow_empty=False)
    secret = serializers.CharField(required=False, help_text="16-256 characters; generated when left out")
    format = serializers.ChoiceField(choices=Subscription.Format.values, required=False, default="json")
    description = serializers.CharField(required=False)


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    response_excerpt = serializers.CharField()
    address = serializers.CharField(help_text="The IP address the request was pinned to")
    duration_ms = serializers.IntegerField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    delivery_id = serializers.CharField(help_text="X-Registry-Delivery-Id")
    subscription = serializers.IntegerField()
    url = serializers.CharField()
    event = serializers.CharField(help_text="One of the subscribable events")
    audit_seq = serializers.IntegerField(allow_null=True, help_text="The audit event it tells about")
    status = serializers.CharField(help_text="pending | succeeded | failed")
    attempts = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True, help_text="The receiver's last answer")
    error = serializers.CharField()
    response_excerpt = serializers.CharField(
        help_text="The start of the last answer (OUTBOUND_EXCERPT_BYTES)"
    )
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    replay_of = serializers.CharField(allow_null=True)
    replayed_by = serializers.CharField(allow_null=True)
    payload = serializers.DictField(help_text="The event (the body of a json subscription)")

    def to_representation(self, instance):
        return selectors.delivery_dict(instance)


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True)


class SubscriptionsView(APIView):
    @extend_schema(
        summary="Staff: subscriptions to outbound events, newest first (deleted ones too)",
        responses={200: SubscriptionSerializer(many=True), 403: NOT_STAFF},
    )
    def get(self, request):
        access.require_staff(request.user)
        return Response([subscriptions.as_dict(s) for s in selectors.subscriptions()])

    @extend_schema(
        summary="Staff: subscribe a URL to outbound events (audited); the answer shows the secret once",
        request=SubscriptionRequestSerializer,
        responses={
            201: CreatedSubscriptionSerializer,
            400: OpenApiResponse(
                description="a bad or forbidden URL (with the reason), unknown events, bad secret"
            ),
            403: NOT_STAFF,
        },
    )
    def post(self, request):
        access.require_staff(request.user)
        sub = subscriptions.create(actor=request.user.get_username(), data=request.data)
        return Response(subscriptions.as_dict(sub, with_secret=True), status=status.HTTP_201_CREATED)


class SubscriptionView(APIView):
    @extend_schema(
        summary="Staff: delete a subscription (audited; nothing more is sent, its deliveries stay listed)",
        responses={204: None, 403: NOT_STAFF, 404: OpenApiResponse(description="no active subscription")},
    )
    def delete(self, request, pk: int):
        access.require_staff(request.user)
        subscriptions.deactivate(actor=request.user.get_username(), subscription_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveriesView(ListAPIView):
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Staff: the delivery log, newest first",
        parameters=[
            OpenApiParameter("subscription", int, description="only this subscription's deliveries"),
            OpenApiParameter("status", str, enum=Delivery.Status.values),
        ],
        responses={
            200: DeliverySerializer(many=True),
            400: OpenApiResponse(description="a malformed filter"),
            403: NOT_STAFF,
        },
    )
    def get(self, request, *args, **kwargs):
        access.require_staff(request.user)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.deliveries(**selectors.parse_filters(self.request.query_params))


class DeliveryView(APIView):
    @extend_schema(
        summary="Staff: one delivery with each attempt's status code and response excerpt",
        responses={
            200: DeliveryDetailSerializer,
            403: NOT_STAFF,
            404: OpenApiResponse(description="no such delivery"),
        },
    )
    def get(self, request, pk: int):
        return Response(selectors.delivery_dict(access.access_delivery(request.user, pk), with_attempts=True))


class ReplayView(APIView):
    @extend_schema(
        summary="Staff: send a failed delivery's event again, as a new delivery (audited)",
        request=None,
        responses={
            202: DeliverySerializer,
            403: NOT_STAFF,
            404: OpenApiResponse(description="no such delivery"),
            409: OpenApiResponse(description="the delivery did not fail, or its subscription was deleted"),
        },
    )
    def post(self, request, pk: int):
        access.require_staff(request.user)
        copy = outbox.replay(actor=request.user.get_username(), delivery_id=pk)
        return Response(selectors.delivery_dict(selectors.delivery(copy.pk)), status=status.HTTP_202_ACCEPTED)
