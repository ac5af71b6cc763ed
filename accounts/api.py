"""REST API v1 — the "Tokens" part of API.md's extensions: own tokens, and staff's service accounts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import ApiToken, ServiceAccount
from audit import roles
from common.errors import NotAllowed


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to recognise it (not usable alone)")
    status = serializers.CharField(help_text="active | expired | revoked")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="null: never (tokens from before hashing)"
    )
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="Updated at most once a minute")
    revoked_at = serializers.DateTimeField(allow_null=True)


class NewTokenSerializer(TokenSerializer):
    key = serializers.CharField(help_text="The key: shown in this answer only, never again")


class TokenRequestSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Where the token is used (a pipeline, a script)")
    expires_in_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        help_text="1 to API_TOKEN_MAX_DAYS (default API_TOKEN_DEFAULT_DAYS)",
    )


class ServiceAccountRequestSerializer(serializers.Serializer):
    username = serializers.RegexField(services.USERNAME_RE.pattern, help_text="Letters, digits and @.+-_")
    role = serializers.ChoiceField(choices=list(roles.GROUPS))
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=settings.API_TOKEN_MAX_DAYS, help_text="Of its first token"
    )


class ServiceAccountSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=list(roles.GROUPS))
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    token = NewTokenSerializer(required=False, help_text="Its first token, key shown once (on creation only)")


def token_dict(t: ApiToken, key: str | None = None) -> dict[str, Any]:
    out = {
        "id": t.pk,
        "name": t.name,
        "prefix": t.lookup,
        "status": t.status,
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat() if t.expires_at else None,
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }
    if key is not None:
        out["key"] = key
    return out


def account_dict(a: ServiceAccount) -> dict[str, Any]:
    return {
        "username": a.user.get_username(),
        "role": a.role,
        "created_by": a.created_by.get_username() if a.created_by_id else None,
        "created_at": a.created_at.isoformat(),
    }


def require_staff(user) -> None:
    if not user.is_staff:
        raise NotAllowed("Only staff may manage service accounts.")


def refuse_token_minting(request) -> None:
    if isinstance(request.auth, ApiToken):
        raise NotAllowed(
            "A token cannot create tokens: create one on your profile page (a signed-in session)."
        )


class TokensView(APIView):
    @extend_schema(summary="Your API tokens (active, expired and revoked), newest first",
                   responses={200: TokenSerializer(many=True)})  # fmt: skip
    def get(self, request):
        return Response([token_dict(t) for t in ApiToken.objects.filter(user=request.user)])

    @extend_schema(
        summary="Create an API token; the key is in this answer only (audited)",
        request=TokenRequestSerializer,
        responses={
            201: NewTokenSerializer,
            400: OpenApiResponse(description="name missing or too long, expires_in_days out of range"),
            403: OpenApiResponse(description="asked with a token: tokens are created from a session"),
        },
    )
    def post(self, request):
        refuse_token_minting(request)
        data = request.data if isinstance(request.data, dict) else {}
        issued = services.token_create(
            user=request.user, actor=request.user, name=data.get("name"),
            expires_in_days=data.get("expires_in_days"),
        )  # fmt: skip
        return Response(token_dict(issued.token, issued.key), status=status.HTTP_201_CREATED)


class TokenView(APIView):
    @extend_schema(
        summary="Revoke one of your API tokens (staff: anyone's); it answers 401 from now on (audited)",
        responses={
            204: None,
            404: OpenApiResponse(description="no such token of yours"),
            409: OpenApiResponse(description="revoked already"),
        },
    )
    def delete(self, request, id: int):
        services.token_revoke(actor=request.user, token_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceAccountsView(APIView):
    @extend_schema(
        summary="Staff: the service accounts", responses={200: ServiceAccountSerializer(many=True)}
    )
    def get(self, request):
        require_staff(request.user)
        accounts = ServiceAccount.objects.select_related("user", "created_by").order_by("user__username")
        return Response([account_dict(a) for a in accounts])

    @extend_schema(
        summary="Staff: create a service account for a pipeline, with a role and its first token (audited)",
        request=ServiceAccountRequestSerializer,
        responses={
            201: ServiceAccountSerializer,
            400: OpenApiResponse(description="bad username, unknown role, expires_in_days out of range"),
            403: OpenApiResponse(description="not staff"),
            409: OpenApiResponse(description="the username is taken"),
        },
    )
    def post(self, request):
        require_staff(request.user)
        account, issued = services.service_account_create(actor=request.user, data=request.data)
        body = account_dict(account) | {"token": token_dict(issued.token, issued.key)}
        return Response(body, status=status.HTTP_201_CREATED)
