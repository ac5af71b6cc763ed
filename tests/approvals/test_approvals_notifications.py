"""Emails: eligible approvers hear when a promotion awaits them; the requester when it is decided or applied."""

from __future__ import annotations

import pytest

from approvals.workflow import gating, requests
from tests.support.governance import approve, run_outbox, seed_model

pytestmark = pytest.mark.django_db


def _emails(people):
    for u in people.values():
        u.email = f"{u.username}@example.test"
        u.save()


def _awaiting_production(people, capture_on_commit):
    """churn v2 requested for production and its gates run, each step's on-commit e-mails sent."""
    seed_model("churn", (1, 2))
    _emails(people)
    with capture_on_commit(execute=True):
        p = requests.promotion_request(
            user=people["requester"], model_name="churn", version=2, target="production"
        )
    with capture_on_commit(execute=True):
        gating.run_gates(promotion_id=p.pk)
    return p


def test_approvers_are_told_when_a_promotion_awaits_them(
    policy_file, people, mailoutbox, django_capture_on_commit_callbacks
):
    p = _awaiting_production(people, django_capture_on_commit_callbacks)
    [mail] = mailoutbox
    assert set(mail.to) == {"ann@example.test", "bob@example.test", "cid@example.test"}
    assert "awaits your signature" in mail.subject and f"/promotions/{p.pk}/" in mail.body


def test_requester_is_told_when_approved_and_applied(
    policy_file, people, mailoutbox, fake_mlflow, django_capture_on_commit_callbacks
):
    seed_model("churn", (1, 2))
    _emails(people)
    p = requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    gating.run_gates(promotion_id=p.pk)
    with django_capture_on_commit_callbacks(execute=True):
        approve(p, people["a1"])
    with django_capture_on_commit_callbacks(execute=True):
        run_outbox(p)
    subjects = [m.subject for m in mailoutbox if m.to == ["rita@example.test"]]
    assert any("Approved" in s for s in subjects), subjects
    assert any("now holds staging" in s for s in subjects), subjects


def test_emails_link_to_the_promotion_with_an_absolute_url_on_the_configured_site(
    policy_file, people, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://governance.example.com/"
    p = _awaiting_production(people, django_capture_on_commit_callbacks)
    [mail] = mailoutbox
    assert f"https://governance.example.com/promotions/{p.pk}/" in mail.body


def test_site_url_defaults_to_the_local_server_so_links_are_absolute():
    from django.conf import settings

    assert settings.SITE_URL == "http://127.0.0.1:8000"
