"""REST API v1 — the "Audit log" part of API.md."""

from __future__ import annotations

import itertools
import json

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import access, checkpoints, selectors, verification
from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    data = serializers.JSONField(help_text="What changed, as recorded (a JSON object).")

    class Meta:
        model = AuditEvent
        fields = ["seq", "at", "actor", "action", "object_type", "object_id", "data", "prev_hash", "hash"]


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    events = serializers.IntegerField()
    head = serializers.CharField(
        allow_null=True, help_text="Hash of the last event (null when the chain is empty)."
    )
    first_bad_seq = serializers.IntegerField(allow_null=True)
    checkpoints_ok = serializers.BooleanField(
        help_text="Every signed checkpoint verifies and its head is still in the chain; none is overdue."
    )
    key_ok = serializers.BooleanField(
        help_text="AUDIT_CHAIN_KEY is set and is the key that signed the checkpoints."
    )
    triggers_ok = serializers.BooleanField(help_text="The append-only triggers are installed.")
    problem = serializers.CharField(help_text="What is wrong, one sentence per failed check (empty when ok).")
    seconds = serializers.FloatField()


class CheckpointSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="Events in the chain when signed (0: empty).")
    head = serializers.CharField(help_text="Hash of event `seq` (64 zeros for an empty chain).")
    at = serializers.DateTimeField()
    keyed_from = serializers.IntegerField(help_text="First event sealed with the key (earlier: unkeyed).")
    key_id = serializers.CharField(help_text="Public id of the key that signed (reveals nothing of it).")
    signature = serializers.CharField(help_text="HMAC-SHA256 of the other fields under the checkpoint key.")


# A date-time or a bare date; empty is no filter (the audit page's form sends empty fields).
WHEN = {"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}, {"maxLength": 0}]}


@extend_schema(
    summary="The audit chain, oldest first",
    parameters=[
        OpenApiParameter("actor", str, description="Exact username (or `system`)"),
        OpenApiParameter("action", str, description="Exact action, or a prefix ending in `.` (`promotion.`)"),
        OpenApiParameter("object_type", str),
        OpenApiParameter("object_id", str),
        OpenApiParameter(
            "since",
            WHEN,
            description="ISO-8601 date or date-time (UTC if no offset); 400 when invalid",
        ),
        OpenApiParameter(
            "until",
            WHEN,
            description="Events before this ISO-8601 date-time (a bare date includes that day); 400 when invalid",
        ),
    ],
)
class AuditEventListView(ListAPIView):
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        access.require_reader(self.request.user)
        return selectors.events(selectors.AuditFilters.parse(self.request.query_params))


class AuditVerifyView(APIView):
    @extend_schema(summary="Recompute every hash and link of the chain", responses=VerifySerializer)
    def get(self, request):
        access.require_reader(request.user)
        started = timezone.now()
        result = verification.verify()
        body = result.as_dict() | {
            "problem": result.problem,
            "seconds": round((timezone.now() - started).total_seconds(), 3),
        }
        return Response(body)


class AuditCheckpointListView(APIView):
    @extend_schema(
        summary="The signed checkpoints of the chain, oldest first (kept outside the database)",
        responses=CheckpointSerializer(many=True),
    )
    def get(self, request):
        access.require_reader(request.user)
        return Response([cp.public() for cp in checkpoints.load().items])


class JSONLinesRenderer(BaseRenderer):
    """Lets clients ask for `Accept: application/x-ndjson`; errors are still one JSON object."""

    media_type = "application/x-ndjson"
    format = "jsonl"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


class AuditExportView(APIView):
    renderer_classes = [JSONRenderer, JSONLinesRenderer]

    @extend_schema(
        summary="The whole chain as JSON Lines (auditors and staff)",
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR,
                description="One event per line, oldest first, same fields as the list; the last line is "
                '`{"checkpoint": {seq, head, at, keyed_from, key_id, signature}}`, the latest signed checkpoint '
                "(null before the first).",
            ),
            403: OpenApiResponse(description="Not an auditor or staff."),
        },
    )
    def get(self, request):
        access.require_exporter(request.user)
        # The latest signed checkpoint closes the file (one line `{"checkpoint": {...}}` after the events).
        checkpoint = checkpoints.latest_public()
        lines = itertools.chain(
            verification.export_lines(), [json.dumps({"checkpoint": checkpoint}, sort_keys=True) + "\n"]
        )
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.jsonl"'
        return response
