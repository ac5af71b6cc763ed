"""Shapes of the governance API (API.md): the output serializers declare the OpenAPI schema (the dicts come from
`approvals.selectors`), the input serializers validate request bodies."""

from __future__ import annotations

from rest_framework import serializers

from approvals import selectors
from approvals.models import Approval, Promotion


# --- output shapes (declared for the OpenAPI schema; the dicts come from selectors) ----------------
class MlflowTargetSerializer(serializers.Serializer):
    alias = serializers.CharField(required=False)
    stage = serializers.CharField(required=False)


class GateSpecSerializer(serializers.Serializer):
    type = serializers.CharField()
    params = serializers.DictField()


class TargetSerializer(serializers.Serializer):
    name = serializers.CharField()
    mlflow = MlflowTargetSerializer()
    approvals_required = serializers.IntegerField()
    approver_groups = serializers.ListField(child=serializers.CharField())
    gates = GateSpecSerializer(many=True)
    rollback_approvals = serializers.IntegerField()
    on_drift = serializers.ChoiceField(choices=["flag", "revert"])
    description = serializers.CharField()


class GateResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "passed", "failed", "error", "skipped"])
    observed = serializers.JSONField(allow_null=True)
    expected = serializers.JSONField(allow_null=True)
    detail = serializers.CharField()
    evaluated_at = serializers.DateTimeField(allow_null=True)


class SignatureSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    printed_name = serializers.CharField()
    decision = serializers.ChoiceField(choices=Approval.Decision.values)
    meaning = serializers.ChoiceField(choices=Approval.Meaning.values)
    comment = serializers.CharField()
    signed_at = serializers.DateTimeField()
    signed_hashes = serializers.DictField()
    auth_method = serializers.ChoiceField(choices=["password", "sso", "fresh_login"])
    version_hash = serializers.CharField(allow_null=True)
    card_hash = serializers.CharField(allow_null=True)
    gates_hash = serializers.CharField(allow_null=True)
    counts = serializers.BooleanField(
        help_text="false once superseded: what it signed changed or a gate failed"
    )
    superseded_at = serializers.DateTimeField(allow_null=True)
    superseded_reason = serializers.CharField()


class PromotionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Promotion.Kind.values)
    model = serializers.CharField()
    version = serializers.IntegerField()
    target = serializers.CharField()
    mlflow = MlflowTargetSerializer()
    state = serializers.ChoiceField(choices=Promotion.State.values)
    justification = serializers.CharField()
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    previous_version = serializers.IntegerField(allow_null=True)
    required_approvals = serializers.IntegerField()
    approver_groups = serializers.ListField(child=serializers.CharField())
    gates = GateResultSerializer(many=True)
    approvals = SignatureSerializer(many=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    applied_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()

    def to_representation(self, instance):
        return selectors.promotion_dict(instance)


class DriftSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField()
    target = serializers.CharField()
    mlflow_version = serializers.IntegerField(allow_null=True)
    approved_version = serializers.IntegerField(allow_null=True)
    detected_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    action = serializers.ChoiceField(choices=["flag", "revert"])


class HoldingSerializer(serializers.Serializer):
    target = serializers.CharField()
    version = serializers.IntegerField()
    from_ = serializers.DateTimeField()
    to = serializers.DateTimeField(allow_null=True)
    promotion_id = serializers.IntegerField(allow_null=True)
    source = serializers.ChoiceField(choices=["promotion", "observed", "drift"])
    adopted_by = serializers.CharField(allow_null=True)
    adopted_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # `from` is a keyword
        return fields


# --- input shapes ---------------------------------------------------------------------------------------
class PromotionRequestSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=256)
    version = serializers.IntegerField(min_value=1)
    target = serializers.CharField(max_length=64)
    justification = serializers.CharField(allow_blank=True, required=False, default="", max_length=10_000)


class RollbackRequestSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=256)
    target = serializers.CharField(max_length=64)
    to_version = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    justification = serializers.CharField(allow_blank=True, required=False, default="", max_length=10_000)


class ApproveSerializer(serializers.Serializer):
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    meaning = serializers.ChoiceField(choices=Approval.Meaning.values, required=False, default="approval")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class RejectSerializer(serializers.Serializer):
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    meaning = serializers.ChoiceField(choices=Approval.Meaning.values, required=False, default="review")


class AdoptSerializer(serializers.Serializer):
    target = serializers.CharField(max_length=64)
    justification = serializers.CharField(max_length=10_000)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
