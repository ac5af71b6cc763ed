"""REST API v1 — "Promotion targets and policy", "Promotions and rollbacks", "Drift" and the target history
(API.md). Views are short: access helper → input serializer → one service or selector → output."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import access, selectors, signing
from approvals.evidence import build_evidence_pack, parse_formats
from approvals.models import Promotion
from approvals.policy import get_policy
from approvals.serializers import (
    AdoptSerializer,
    ApproveSerializer,
    CancelSerializer,
    DriftSerializer,
    HoldingSerializer,
    PromotionRequestSerializer,
    PromotionSerializer,
    RejectSerializer,
    RollbackRequestSerializer,
    TargetSerializer,
)
from approvals.workflow import cancel, gating, requests, rollback, signatures
from approvals.workflow.holdings import holder_adopt
from audit.access import require_exporter
from common.errors import InvalidInput, NotFound
from common.query import query_flag
from mirror.access import access_model


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _promotion_response(pk: int, code=status.HTTP_200_OK) -> Response:
    return Response(selectors.promotion_dict(selectors.promotion_detail(pk)), status=code)


# --- targets --------------------------------------------------------------------------------------------
class TargetListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("model", str, description="effective targets for this model (overrides)")
        ],
        responses=TargetSerializer(many=True),
    )
    def get(self, request):
        policy = get_policy()
        model = request.query_params.get("model")
        targets = policy.targets_for(model) if model else policy.targets
        return Response([t.as_dict() for t in targets.values()])


# --- promotions -------------------------------------------------------------------------------------------
class PromotionListView(ListAPIView):
    serializer_class = PromotionSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=Promotion.State.values),
            OpenApiParameter("model", str),
            OpenApiParameter("target", str),
            OpenApiParameter("kind", str, enum=Promotion.Kind.values),
            OpenApiParameter("awaiting_me", bool, description="only what this user may still sign"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        state = params.get("state") or None
        if state and state not in Promotion.State.values:
            raise InvalidInput(f"Unknown state {state!r}.", state=["Not a promotion state."])
        kind = params.get("kind") or None
        if kind and kind not in Promotion.Kind.values:
            raise InvalidInput(f"Unknown kind {kind!r}.", kind=["Not a promotion kind: promote or rollback."])
        qs = selectors.promotions_qs()
        if query_flag(params, "awaiting_me"):
            qs = qs.filter(pk__in=selectors.awaiting_for(self.request.user).values("pk"))
        qs = selectors.filter_promotions(
            qs, state=state, model=params.get("model"), target=params.get("target"), kind=kind
        )
        return qs.order_by("-requested_at", "-id")

    @extend_schema(
        request=PromotionRequestSerializer,
        responses={
            201: PromotionSerializer,
            409: OpenApiResponse(
                description="an open promotion of the same model, version and target exists (its id in "
                "`promotion_id`), or the version already holds the target (`holder_version`, `source`, "
                "`held_since`, `promotion_id`): nothing to promote"
            ),
        },
    )
    def post(self, request):
        access.require_requester(request.user)
        data = _valid(PromotionRequestSerializer, request)
        p = requests.promotion_request(
            user=request.user,
            model_name=data["model"],
            version=data["version"],
            target=data["target"],
            justification=data["justification"],
        )
        return _promotion_response(p.pk, status.HTTP_201_CREATED)


class PromotionDetailView(APIView):
    @extend_schema(responses=PromotionSerializer)
    def get(self, request, pk):
        return Response(selectors.promotion_dict(access.access_promotion(request.user, pk)))


def _signed_decision_schema(serializer_class, conflict: str):
    """The OpenAPI schema of a signed decision (approve, reject): 409 says why the decision is too late."""
    return extend_schema(
        request=serializer_class,
        responses={
            200: PromotionSerializer,
            403: OpenApiResponse(description="wrong password, not an approver, or segregation of duties"),
            409: OpenApiResponse(description=conflict),
            429: OpenApiResponse(
                description="signing locked for this user or address (too many wrong passwords)"
            ),
        },
    )


def _signed_decision(request, pk, serializer_class, decide):
    """Approve or reject: `decide` is the service, called with the signer's re-entered password."""
    p = access.access_promotion(request.user, pk)
    data = _valid(serializer_class, request)
    decide(
        promotion_id=p.pk,
        user=request.user,
        password=data["password"] or None,
        client_ip=signing.client_ip(request),
        meaning=data["meaning"],
        comment=data["comment"],
    )
    return _promotion_response(p.pk)


class PromotionApproveView(APIView):
    @_signed_decision_schema(ApproveSerializer, "not awaiting approval, or already decided")
    def post(self, request, pk):
        return _signed_decision(request, pk, ApproveSerializer, signatures.approval_grant)


class PromotionRejectView(APIView):
    @_signed_decision_schema(RejectSerializer, "already decided, or no longer open to a decision")
    def post(self, request, pk):
        return _signed_decision(request, pk, RejectSerializer, signatures.approval_reject)


class PromotionCancelView(APIView):
    @extend_schema(request=CancelSerializer, responses={200: PromotionSerializer})
    def post(self, request, pk):
        p = access.access_promotion(request.user, pk)
        data = _valid(CancelSerializer, request)
        cancel.cancel(promotion_id=p.pk, user=request.user, reason=data["reason"])
        return _promotion_response(p.pk)


class PromotionRecheckView(APIView):
    @extend_schema(request=None, responses={202: PromotionSerializer})
    def post(self, request, pk):
        p = access.access_promotion(request.user, pk)
        gating.recheck(promotion_id=p.pk, user=request.user)
        return _promotion_response(p.pk, status.HTTP_202_ACCEPTED)


class RollbackCreateView(APIView):
    @extend_schema(
        request=RollbackRequestSerializer,
        responses={
            201: PromotionSerializer,
            400: OpenApiResponse(
                description="unknown model or target, not a version number, or nothing held the target before"
            ),
            409: OpenApiResponse(
                description="`to_version` already holds the target (`holder_version`, `source`, `held_since`, "
                "`promotion_id`): nothing to roll back; or an open promotion of the same model, version and "
                "target exists (its id in `promotion_id`)"
            ),
        },
    )
    def post(self, request):
        access.require_requester(request.user)
        data = _valid(RollbackRequestSerializer, request)
        p = rollback.rollback_request(
            user=request.user,
            model_name=data["model"],
            target=data["target"],
            to_version=data.get("to_version"),
            justification=data["justification"],
        )
        return _promotion_response(p.pk, status.HTTP_201_CREATED)


# --- drift and history ----------------------------------------------------------------------------------------
class DriftListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("model", str),
            OpenApiParameter("open", bool, description="only unresolved drift"),
        ],
        responses={200: DriftSerializer(many=True), 404: OpenApiResponse(description="No such model")},
        description=f"The newest {selectors.API_DRIFT_LIMIT:,} drift records, newest first (the drift page pages "
        "through all of them).",
    )
    def get(self, request):
        model = None
        name = request.query_params.get("model")
        if name:
            model = access_model(request.user, name)
        open_only = query_flag(request.query_params, "open")
        return Response(
            [selectors.drift_dict(d) for d in selectors.drift_list(model=model, open_only=open_only)]
        )


class ModelHistoryView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("target", str, description="target name, e.g. production"),
            OpenApiParameter(
                "at",
                str,
                description="ISO-8601 time (needs target): the one entry holding the target then, 404 when none",
            ),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="HistoryAnswer",
                serializers=[HoldingSerializer(many=True), HoldingSerializer()],
                resource_type_field_name=None,
                many=False,
            ),
            404: OpenApiResponse(description="unknown model, or nothing held the target at `at`"),
        },
        operation_id="models_history",
    )
    def get(self, request, name):
        model = access_model(request.user, name)
        target = request.query_params.get("target") or None
        if target:
            known = set(get_policy().targets_for(model.name))
            if target not in known and not model.holdings.filter(target=target).exists():
                raise InvalidInput(f"Unknown target {target!r}.", target=["Unknown target."])
        if "at" in request.query_params:
            at = selectors.parse_at(request.query_params["at"])
            if not target:
                raise InvalidInput("`at` needs a target.", target=["Required with at."])
            entry = selectors.history_at(model, target, at)
            if entry is None:
                raise NotFound(f"Nothing held {target} of {model.name} at {at.isoformat()}.")
            return Response(entry)
        return Response(selectors.history(model, target))


class HolderAdoptView(APIView):
    @extend_schema(
        request=AdoptSerializer,
        responses={
            201: HoldingSerializer,
            403: OpenApiResponse(description="not staff"),
            409: OpenApiResponse(description="nothing holds the target, or its holder is already governed"),
        },
        description=(
            "Staff: adopt the version holding the target in MLflow (set outside this app) as its approved "
            "holder. Recorded on the audit chain with the justification; drift is measured against it from then "
            "on, and open drift on the target is resolved. No gate or signature is run."
        ),
    )
    def post(self, request, name):
        model = access.access_model_to_adopt(request.user, name)
        data = _valid(AdoptSerializer, request)
        h = holder_adopt(
            user=request.user,
            model_name=model.name,
            target=data["target"],
            justification=data["justification"],
        )
        return Response(selectors.holding_dict(h), status=status.HTTP_201_CREATED)


class EvidenceView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "target",
                {"type": "string", "minLength": 1},
                required=True,
                description="A policy target, e.g. production",
            ),
            OpenApiParameter(
                "formats",
                str,
                description="Card export formats, comma-separated (md,html,json,pdf); default md,html,json",
            ),
        ],
        responses={(200, "application/zip"): OpenApiResponse(description="The evidence pack (zip)")},
        description=(
            "Auditors and staff: a zip of every version holding (or having held) the target, its card export, "
            "its promotions with approvals and gate results, and the audit chain with its verification."
        ),
    )
    def get(self, request):
        require_exporter(request.user)
        formats = parse_formats(request.query_params.get("formats"))
        pack, filename = build_evidence_pack(
            target=(request.query_params.get("target") or "").strip(),
            formats=formats,
            actor=request.user.get_username(),
        )
        return FileResponse(pack, as_attachment=True, filename=filename, content_type="application/zip")
