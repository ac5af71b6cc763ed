"""Pages of the workflow: inbox, promotion page with gates and signatures, signing form, history, drift."""

from __future__ import annotations

import re

import pytest

from approvals.models import Approval, Promotion
from approvals.workflow import gating, requests
from mirror.models import RegisteredModel
from tests.factories import DriftRecordFactory
from tests.support.governance import PASSWORD, approve, request_and_check, run_outbox, seed_model

pytestmark = pytest.mark.django_db

INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(?!\s*[\[{])|\son[a-z]+=|\sstyle=|<style", re.I)


def _assert_csp_clean(html: str):
    bad = [m.group(0) for m in INLINE.finditer(html)]
    assert not bad, bad


def test_inbox_lists_what_awaits_me(churn, people, client):
    p = request_and_check(people["requester"], version=2, target="production")
    client.force_login(people["a1"])
    html = client.get("/promotions/?tab=inbox").content.decode()
    assert f"/promotions/{p.pk}/" in html
    client.force_login(people["requester"])
    html = client.get("/promotions/?tab=inbox").content.decode()
    assert f"/promotions/{p.pk}/" not in html
    html = client.get("/promotions/?state=awaiting_approval&target=production").content.decode()
    assert f"/promotions/{p.pk}/" in html
    _assert_csp_clean(html)


def test_promotion_page_shows_gates_comparison_and_sign_form(churn, people, client):
    p = request_and_check(people["requester"], version=2, target="production")
    client.force_login(people["a1"])
    res = client.get(f"/promotions/{p.pk}/")
    html = res.content.decode()
    assert res.status_code == 200
    for text in (
        "version_ready",
        "beats_current",
        "Sign: approve",
        "Sign: reject",
        "comparison-table",
        "v1 (holder)",
    ):
        assert text in html, text
    _assert_csp_clean(html)
    # the requester sees why they may not sign
    client.force_login(people["requester"])
    html = client.get(f"/promotions/{p.pk}/").content.decode()
    assert "Sign: approve" not in html and "someone else must sign" in html


def test_signing_through_the_page_records_the_signature(churn, people, client, fake_mlflow):
    p = request_and_check(people["requester"], version=2, target="staging")
    client.force_login(people["a1"])
    res = client.post(
        f"/promotions/{p.pk}/sign/", {"decision": "approve", "password": "wrong", "meaning": "approval"}
    )
    assert res.status_code == 302 and Approval.objects.count() == 0
    res = client.post(
        f"/promotions/{p.pk}/sign/",
        {"decision": "approve", "password": PASSWORD, "meaning": "responsibility", "comment": "ok"},
    )
    assert res.status_code == 302
    p.refresh_from_db()
    assert p.state == "approved"
    run_outbox(p)
    html = client.get(f"/promotions/{p.pk}/").content.decode()
    assert "applied" in html and "responsibility" in html and "ann" in html


def test_a_fresh_login_does_not_sign_without_password(churn, people, client):
    p = request_and_check(people["requester"], version=2, target="staging")
    assert client.login(username="ann", password=PASSWORD)
    client.post(f"/promotions/{p.pk}/sign/", {"decision": "approve", "meaning": "approval"})
    assert not Approval.objects.exists()


def test_live_partial_polls_while_checking(churn, people, client):
    p = requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    client.force_login(people["a1"])
    html = client.get(f"/promotions/{p.pk}/gates/").content.decode()
    assert 'hx-trigger="every 2s"' in html
    gating.run_gates(promotion_id=p.pk)
    html = client.get(f"/promotions/{p.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in html and "awaiting approval" in html


def test_request_from_the_version_page(churn, people, client):
    client.force_login(people["requester"])
    html = client.get("/models/churn/versions/2/").content.decode()
    assert "Request promotion" in html
    res = client.post("/promotions/request/churn/2/", {"target": "staging", "justification": "try it"})
    p = Promotion.objects.get()
    assert res.status_code == 302 and res["Location"] == f"/promotions/{p.pk}/"
    res = client.post("/promotions/request/churn/2/", {"target": "staging"})
    assert res.status_code == 400  # duplicate
    html = client.get("/models/churn/versions/2/").content.decode()
    assert f"/promotions/{p.pk}/" in html


def test_history_page_offers_rollback_and_drift_banner_shows(churn, people, client, fake_mlflow):
    for v in (2, 3):
        p = request_and_check(people["requester"], version=v, target="staging")
        approve(p, people["a1"])
        run_outbox(p)
    client.force_login(people["requester"])
    html = client.get("/models/churn/history/").content.decode()
    assert "Roll back to v2" in html
    _assert_csp_clean(html)
    res = client.post(
        "/models/churn/rollback/", {"target": "staging", "to_version": "2", "justification": "v3 misbehaves"}
    )
    r = Promotion.objects.get(kind="rollback")
    assert res["Location"] == f"/promotions/{r.pk}/"
    DriftRecordFactory(
        model=RegisteredModel.objects.get(name="churn"),
        target="staging",
        mlflow_version=1,
        approved_version=3,
        detected_at=r.requested_at,
    )
    for url in ("/models/churn/", "/", "/drift/"):
        html = client.get(url).content.decode()
        assert "drift" in html.lower(), url
    assert "Drift on staging" in client.get("/models/churn/").content.decode()


def test_pages_need_login(client):
    assert client.get("/promotions/").status_code == 302


def _count_queries(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        res = fn()
    assert res.status_code == 200
    return len(ctx.captured_queries)


def _many(people, model, n):
    seed_model(model, tuple(range(1, n + 1)))
    for v in range(1, n + 1):
        p = request_and_check(people["requester"], model=model, version=v, target="staging")
        approve(p, people["a1"], comment=f"v{v}")


@pytest.mark.parametrize("url", ["/promotions/", "/promotions/?tab=inbox", "/api/v1/promotions/", "/"])
def test_lists_run_a_bounded_number_of_queries(policy_file, people, client, url):
    client.force_login(people["a2"])
    _many(people, "few", 2)
    client.get(url)  # warm caches (policy, session)
    small = _count_queries(lambda: client.get(url))
    _many(people, "lots", 12)
    large = _count_queries(lambda: client.get(url))
    assert small == large, f"{url}: {small} queries with 2 promotions, {large} with 14"
