"""Auditors' pages: the audit log (JSON data, newest first, filters, 400 on a bad filter) and the evidence pack
page (choose a target, see what it will hold, build it as a job with progress, download)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from approvals.audit.services import record

pytestmark = pytest.mark.django_db


def rows(html: str) -> list[str]:
    """The `#` column of the audit table, in page order."""
    table = html.split('<table class="table compact audit-table">', 1)
    if len(table) == 1:
        return []
    return re.findall(r'<td class="right mono">(\d+)</td>', table[1])


@pytest.fixture
def chain():
    record(actor="alice", action="promotion.requested", object_type="promotion", object_id="7",
           data={"target": "production", "ok": True, "note": None})  # fmt: skip
    record(actor="ann", action="promotion.approved", object_type="promotion", object_id="7",
           data={"meaning": "approval", "html": "<script>alert(1)</script>"})  # fmt: skip
    record(actor="alice", action="card.revised", object_type="model_version", object_id="credit/2",
           data={"revision": 2})  # fmt: skip


# --- the audit log page ------------------------------------------------------------------------------
def test_audit_page_lists_newest_first_by_default_and_chain_order_on_request(client, user, chain):
    client.force_login(user)
    newest = rows(client.get("/audit/").content.decode())
    assert newest == sorted(newest, key=int, reverse=True) and len(newest) >= 3
    oldest = rows(client.get("/audit/?order=oldest").content.decode())
    assert oldest == list(reversed(newest))


def test_audit_page_shows_event_data_as_escaped_json_not_python_reprs(client, user, chain):
    client.force_login(user)
    page = client.get("/audit/?object_id=7").content.decode()
    assert "&quot;ok&quot;: true" in page and "&quot;note&quot;: null" in page
    assert "&quot;target&quot;: &quot;production&quot;" in page
    assert "True" not in page.split("audit-table", 1)[1] and "'target'" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    "query,expected_actions",
    [
        ("actor=alice", {"promotion.requested", "card.revised"}),
        ("action=promotion.approved", {"promotion.approved"}),
        ("action=promotion.", {"promotion.requested", "promotion.approved"}),
        ("object_type=promotion&object_id=7", {"promotion.requested", "promotion.approved"}),
        ("object_type=model_version", {"card.revised"}),
    ],
)
def test_audit_page_filters_by_actor_event_type_and_object(client, user, chain, query, expected_actions):
    client.force_login(user)
    page = client.get(f"/audit/?{query}").content.decode()
    listed = set(re.findall(r'<a class="mono" href="\?action=[^"]*">([\w.]+)</a>', page))
    assert listed == expected_actions


def test_audit_page_filters_by_time(client, user, chain):
    client.force_login(user)
    today = timezone.now().date()
    yesterday, tomorrow = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    assert len(rows(client.get(f"/audit/?since={yesterday}&until={today}").content.decode())) >= 3
    assert rows(client.get(f"/audit/?since={tomorrow}").content.decode()) == []
    assert rows(client.get(f"/audit/?until={yesterday}").content.decode()) == []


@pytest.mark.parametrize(
    "query,field,sentence",
    [
        ("since=bad", "since", "since must be an ISO-8601 date or date-time"),
        ("until=2026-13-40", "until", "until must be an ISO-8601 date or date-time"),
        ("since=2026-02-01&until=2026-01-01", "until", "must be later than since"),
        ("order=sideways", "order", "Select a valid choice"),
        (f"actor={'x' * 300}", "actor", "at most 255 characters"),
    ],
)
def test_a_bad_audit_filter_is_a_400_with_a_sentence_and_the_chain_is_not_called_empty(
    client, user, chain, query, field, sentence
):
    client.force_login(user)
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert sentence in page
    assert f'id="err-{field}"' in page and 'aria-invalid="true"' in page
    assert "The chain is empty" not in page
    assert re.search(r"\d[\d,]* events?; head", page)  # the head of the chain is still shown
    assert rows(page) == []


def test_a_bad_since_keeps_what_was_typed_in_the_form(client, user, chain):
    client.force_login(user)
    page = client.get("/audit/?since=last+tuesday&actor=alice").content.decode()
    assert 'name="since" value="last tuesday"' in page and 'name="actor" value="alice"' in page


def test_audit_api_filters_by_until_too(api, chain):
    tomorrow = timezone.now().date() + dt.timedelta(days=1)
    assert api.get(f"/api/v1/audit/?until={tomorrow}").json()["count"] >= 3
    assert api.get("/api/v1/audit/?until=2000-01-01").json()["count"] == 0
    response = api.get("/api/v1/audit/?until=soon")
    assert response.status_code == 400 and "until" in response.json()["detail"]
