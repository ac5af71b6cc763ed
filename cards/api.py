"""REST API v1 — the "Model cards" part of API.md."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cards import access, bulk, exports, selectors, services
from cards.models import BulkExport, CardRevision
from common.api_fields import StrictCharField
from common.downloads import zip_file_response
from common.errors import InvalidInput, NotFound, PreconditionRequired
from common.safejson import BoundedJSONParser, read_limited


class MarkdownParser(BaseParser):
    """`PUT` with `Content-Type: text/markdown`: the body is the card itself (strict UTF-8)."""

    media_type = "text/markdown"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            return {"markdown": raw.decode("utf-8")}
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"The body is not valid UTF-8 (byte {exc.start}).", field="markdown") from None


class CardSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    markdown = serializers.CharField()
    html = serializers.CharField(help_text="Sanitised HTML rendering of the markdown.")
    completeness = inline_serializer(
        "CardCompleteness",
        {"score": serializers.FloatField(), "missing": serializers.ListField(child=serializers.CharField())},
    )
    updated_by = serializers.CharField()
    updated_at = serializers.DateTimeField()
    comment = serializers.CharField()
    content_hash = serializers.CharField(help_text="sha256:<hex> of the markdown.")
    front_matter = serializers.DictField()

    @staticmethod
    def of(rev: CardRevision) -> dict:
        return {
            "revision": rev.revision,
            "markdown": rev.markdown,
            "html": rev.html,
            "completeness": {"score": rev.score, "missing": list(rev.missing)},
            "updated_by": rev.author,
            "updated_at": rev.created_at,
            "comment": rev.comment,
            "content_hash": rev.content_hash,
            "front_matter": rev.front_matter,
        }


class RevisionSummarySerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    updated_by = serializers.CharField(source="author")
    updated_at = serializers.DateTimeField(source="created_at")
    comment = serializers.CharField()
    score = serializers.FloatField()
    content_hash = serializers.CharField()


class CardWriteSerializer(serializers.Serializer):
    markdown = serializers.CharField(allow_blank=True, trim_whitespace=False)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


def _etag(rev: CardRevision) -> str:
    return f'"{rev.revision}"'


def _card_response(rev: CardRevision, *, status_code=200) -> Response:
    response = Response(CardSerializer(CardSerializer.of(rev)).data, status=status_code)
    response["ETag"] = _etag(rev)
    return response


def _check_body_size(request) -> None:
    """Refuse, before parsing, a body too large to hold a card under the limit (JSON escaping may grow the
    text, so allow some slack) or larger than Django accepts at all (DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.CARD_MAX_BYTES
    ceiling = 6 * limit + 65536
    if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None:
        ceiling = min(ceiling, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if length.isdigit() and int(length) > ceiling:
        raise services.CardTooLarge(
            f"The request body is {length} bytes; a card may be at most {limit} bytes (CARD_MAX_BYTES).",
            limit=limit,
        )


class CardView(APIView):
    parser_classes = [BoundedJSONParser, MarkdownParser]

    @extend_schema(responses=CardSerializer, summary="A version's model card (drafted on first read)")
    def get(self, request, name: str, version: int):
        mv = access.access_card(request.user, name, version)
        return _card_response(services.ensure_card(mv=mv))

    @extend_schema(
        request=CardWriteSerializer,
        responses={
            200: CardSerializer,
            400: OpenApiTypes.OBJECT,
            412: OpenApiTypes.OBJECT,
            413: OpenApiTypes.OBJECT,
            428: OpenApiTypes.OBJECT,
        },  # fmt: skip
        parameters=[
            OpenApiParameter(
                "If-Match",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='The ETag of the revision edited, e.g. "3".',
            )
        ],  # fmt: skip
        summary="Save a new revision of the card",
    )
    def put(self, request, name: str, version: int):
        mv = access.access_card_for_edit(request.user, name, version)
        _check_body_size(request)
        base = services.parse_if_match(request.headers.get("If-Match"))
        if base is None:
            raise PreconditionRequired('Send If-Match with the ETag of the revision you edited (e.g. "3").')
        data = request.data
        if not isinstance(data, dict):
            raise InvalidInput("Send a JSON object {markdown, comment?}.")
        if "markdown" not in data:
            raise InvalidInput("markdown is required.", field="markdown")
        services.ensure_card(mv=mv)
        rev = services.save_card(
            mv=mv, markdown=data.get("markdown"), comment=data.get("comment") or "", author=request.user,
            base_revision=base,
        )  # fmt: skip
        return _card_response(rev)


class CardRegenerateView(APIView):
    @extend_schema(
        request=None,
        responses=CardSerializer,
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True)],
        summary="Refresh the generated sections from the mirror (human text untouched) as a new revision",
    )
    def post(self, request, name: str, version: int):
        mv = access.access_card_for_edit(request.user, name, version)
        base = services.parse_if_match(request.headers.get("If-Match"))
        if base is None:
            raise PreconditionRequired(
                'Send If-Match with the ETag of the revision you regenerate (e.g. "3").'
            )
        return _card_response(services.regenerate_card(mv=mv, author=request.user, base_revision=base))


class RevisionListView(APIView):
    @extend_schema(
        responses=RevisionSummarySerializer(many=True), summary="The card's revisions, newest first"
    )
    def get(self, request, name: str, version: int):
        mv = access.access_card(request.user, name, version)
        services.ensure_card(mv=mv)
        return Response(RevisionSummarySerializer(selectors.revisions(mv), many=True).data)


class RevisionDetailView(APIView):
    @extend_schema(responses=CardSerializer, summary="One revision of the card")
    def get(self, request, name: str, version: int, revision: int):
        mv = access.access_card(request.user, name, version)
        rev = selectors.get_revision(mv, revision)
        if rev is None:
            raise NotFound(f"Card revision {revision} of {name} v{version} does not exist.")
        return _card_response(rev)


def _int_param(request, key: str) -> int | None:
    return services.parse_revision_number(request.query_params.get(key), field=key)


DIFF_FORMATS = ("json", "unified")


class DiffView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", int),
            OpenApiParameter("to", int),
            OpenApiParameter(
                "format",
                str,
                enum=list(DIFF_FORMATS),
                description="`unified`: a text/plain unified diff instead of the JSON with `html`.",
            ),
        ],
        responses={
            200: inline_serializer(
                "CardDiff",
                {
                    "from": serializers.IntegerField(),
                    "to": serializers.IntegerField(),
                    "html": serializers.CharField(),
                },
            ),
            (200, "text/plain"): OpenApiTypes.STR,
        },
        summary="Diff of two revisions: a side-by-side red-line (sanitised HTML table) or a unified text diff",
    )
    def get(self, request, name: str, version: int):
        mv = access.access_card(request.user, name, version)
        fmt = request.query_params.get("format") or "json"
        if fmt not in DIFF_FORMATS:
            raise InvalidInput(f"format must be one of: {', '.join(DIFF_FORMATS)}.", field="format")
        latest = services.ensure_card(mv=mv).revision
        to = _int_param(request, "to") or latest
        frm = _int_param(request, "from")
        if frm is None:
            frm = max(1, to - 1)
        if fmt == "unified":
            return HttpResponse(
                services.card_diff_unified(mv, frm, to), content_type="text/plain; charset=utf-8"
            )
        return Response({"from": frm, "to": to, "html": services.card_diff_html(mv, frm, to)})


class ExportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(exports.FORMATS), required=True),
            OpenApiParameter("revision", int, description="Default: the latest revision."),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 400: OpenApiTypes.OBJECT},
        summary="Export the card (md, standalone html, pdf, or Model Card Toolkit json)",
    )
    def get(self, request, name: str, version: int):
        mv = access.access_card(request.user, name, version)
        fmt = exports.check_format(request.query_params.get("format"))
        number = _int_param(request, "revision")
        rev = services.ensure_card(mv=mv) if number is None else selectors.get_revision(mv, number)
        if rev is None:
            raise NotFound(f"Card revision {number} of {name} v{version} does not exist.")
        return export_response(exports.export_card(mv, rev, fmt))


def export_response(export: exports.ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Content-Security-Policy"] = exports.EXPORT_CSP
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- bulk exports (auditors, staff) -----------------------------------------------------------------------
class BulkExportSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username")
    models = serializers.ListField(source="models_selected", child=serializers.CharField())
    progress = serializers.IntegerField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = BulkExport
        fields = ["id", "requested_by", "models", "alias", "formats", "state", "total", "done", "progress",
                  "size_bytes", "error", "created_at", "started_at", "finished_at", "download_url"]  # fmt: skip

    def get_download_url(self, job) -> str | None:
        return f"/api/v1/cards/exports/{job.pk}/download" if job.state == BulkExport.State.SUCCEEDED else None


class BulkExportRequestSerializer(serializers.Serializer):
    models = serializers.ListField(child=StrictCharField(), required=False, default=list)
    alias = StrictCharField(required=False, allow_blank=True, default="")
    formats = serializers.ListField(
        child=serializers.ChoiceField(choices=list(exports.FORMATS)), required=False
    )


class BulkExportListView(APIView):
    @extend_schema(request=BulkExportRequestSerializer, responses={202: BulkExportSerializer},
                   summary="Start a bulk card export (a zip built by a worker)")  # fmt: skip
    def post(self, request):
        access.require_bulk_exporter(request.user)
        ser = BulkExportRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        job = bulk.request_bulk_export(
            user=request.user, model_names=ser.validated_data["models"], alias=ser.validated_data["alias"],
            formats=ser.validated_data.get("formats"),
        )  # fmt: skip
        return Response(BulkExportSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=BulkExportSerializer(many=True), summary="Recent bulk card exports")
    def get(self, request):
        access.require_bulk_exporter(request.user)
        jobs = BulkExport.objects.select_related("requested_by")[:50]
        return Response(BulkExportSerializer(jobs, many=True).data)


class BulkExportDetailView(APIView):
    @extend_schema(responses=BulkExportSerializer, summary="A bulk card export's state and progress")
    def get(self, request, pk: int):
        return Response(BulkExportSerializer(access.access_bulk_export(request.user, pk)).data)


class BulkExportDownloadView(APIView):
    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="Download a finished bulk card export")  # fmt: skip
    def get(self, request, pk: int):
        return bulk_download_response(access.access_bulk_export(request.user, pk))


def bulk_download_response(job: BulkExport):
    response = None
    if job.state == BulkExport.State.SUCCEEDED:
        response = zip_file_response(job.file_path, f"card-export-{job.pk}.zip")
    if response is None:
        raise NotFound("This export has no file (not finished, failed, or cleaned up).")
    return response
