# ruff: noqa: F811  (pytest fixtures imported from tests.test_approvals_helpers)
"""Gaps left after the trust-holes and first-hour fixes: each reproduced, and shown closed."""

from __future__ import annotations

import pytest

from registry_ui.models import ModelVersion
from tests.test_approvals_helpers import (  # noqa: F401  (fixtures)
    approve,
    fake_mlflow,
    fast_hashes,
    people,
    policy_file,
    request_and_check,
    seed_model,
)

pytestmark = pytest.mark.django_db


# --- 1. card exports tell superseded signatures from the ones that count ------------------------------------
@pytest.fixture
def one_superseded(policy_file, people, fake_mlflow):
    """ann signs; the version changes (gates still pass), so her signature no longer counts; bob signs after."""
    seed_model("churn", (1, 2, 3), aliases={"production": 1})
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    seed_model(
        "churn", (1, 2, 3), aliases={"production": 1}, version_tags={2: {"data_validated": "true", "x": "1"}}
    )
    approve(p, people["a2"])
    assert p.state == "awaiting_approval"
    ann = p.approvals.get(reviewer=people["a1"])
    assert ann.superseded_at is not None and "model version" in ann.superseded_reason
    return ModelVersion.objects.select_related("model", "source_run").get(model__name="churn", version=2), ann


def _export(mv, fmt):
    from registry_ui.cards import exports
    from registry_ui.cards.services import ensure_card

    return exports.export_card(mv, ensure_card(mv=mv), fmt).content


def test_markdown_export_lists_a_superseded_signature_apart_with_its_reason(one_superseded):
    mv, ann = one_superseded
    text = _export(mv, "md").decode()
    counting, _, superseded = text.partition("no longer count")
    assert "| bob |" in counting and "| ann |" not in counting
    assert "| ann |" in superseded and "| bob |" not in superseded
    assert ann.superseded_reason.replace("\n", " ")[:60] in superseded


def test_html_export_lists_a_superseded_signature_apart_with_its_reason(one_superseded):
    from django.utils.html import escape

    mv, ann = one_superseded
    html = _export(mv, "html").decode()
    counting, _, superseded = html.partition("no longer count")
    assert "<td>bob</td>" in counting and "<td>ann</td>" not in counting
    assert "<td>ann</td>" in superseded and "<td>bob</td>" not in superseded
    assert escape(ann.superseded_reason)[:60] in superseded


def test_pdf_export_lists_a_superseded_signature_apart(one_superseded):
    from registry_ui.cards.exports import pdf_text

    mv, _ann = one_superseded
    text = pdf_text(_export(mv, "pdf"))
    counting, _, superseded = text.partition("no longer count")
    assert "bob" in counting and "ann" not in counting
    assert "ann" in superseded and "model version" in superseded.replace("\n", " ")
