"""The audit API: events listed oldest first with filters, the chain verified, the export for auditors and staff
only, anonymous calls refused, the schema."""

from __future__ import annotations

import json

import pytest

from audit.services import record
from tests.support.audit import EVENT_FIELDS, append

pytestmark = pytest.mark.django_db


# --- API --------------------------------------------------------------------------------------------
def test_api_lists_events_oldest_first_paginated(api):
    append(7)
    body = api.get("/api/v1/audit/?page_size=3").json()
    assert body["count"] == 7
    assert [e["seq"] for e in body["results"]] == [1, 2, 3]
    assert set(body["results"][0]) == EVENT_FIELDS
    assert api.get("/api/v1/audit/?page=3&page_size=3").json()["results"][0]["seq"] == 7
    assert api.get("/api/v1/audit/?page=9").status_code == 404
    assert api.get("/api/v1/audit/?page=abc").status_code in {400, 404}


def test_api_filters_by_actor_action_object_and_since(api):
    record(actor="alice", action="promotion.requested", object_type="promotion", object_id="1")
    record(actor="bob", action="promotion.approved", object_type="promotion", object_id="1")
    record(actor="bob", action="card.revised", object_type="card", object_id="7")

    def seqs(query):
        response = api.get(f"/api/v1/audit/?{query}")
        assert response.status_code == 200, response.content
        return [e["seq"] for e in response.json()["results"]]

    assert seqs("actor=bob") == [2, 3]
    assert seqs("action=promotion.approved") == [2]
    assert seqs("action=promotion.") == [1, 2]
    assert seqs("object_type=promotion&object_id=1") == [1, 2]
    assert seqs("object_type=card&actor=alice") == []
    assert seqs("since=2000-01-01") == [1, 2, 3]
    assert seqs("since=2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize("since", ["yesterday", "2026-13-40", "2026-01-01T25:00"])
def test_api_rejects_a_bad_since_with_400(api, since):
    response = api.get("/api/v1/audit/", {"since": since})
    assert response.status_code == 400
    assert "since" in response.json()["detail"]


def test_api_verify_reports_the_chain(api):
    events = append(3)
    body = api.get("/api/v1/audit/verify").json()
    assert (
        body["ok"] is True
        and body["events"] == 3
        and body["head"] == events[-1].hash
        and body["first_bad_seq"] is None
    )


def test_export_is_for_auditors_and_staff_only(api, make_user, staff):
    from rest_framework.test import APIClient

    exporters = (make_user("audrey", "auditors"), staff)  # granting these roles is audited too: events 1, 2
    append(3)
    assert api.get("/api/v1/audit/export").status_code == 403
    for who in exporters:
        client = APIClient()
        client.force_authenticate(who)
        response = client.get("/api/v1/audit/export")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/x-ndjson")
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert [json.loads(line)["seq"] for line in lines[:-1]] == [1, 2, 3, 4, 5]
        assert json.loads(lines[-1]) == {"checkpoint": None}  # none signed yet


def test_export_honours_an_ndjson_accept_header(make_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user("audrey", "auditors"))  # one event: audrey joins auditors
    append(1)
    response = client.get("/api/v1/audit/export", HTTP_ACCEPT="application/x-ndjson")
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).splitlines()) == 2 + 1  # + the checkpoint line


def test_anonymous_api_calls_get_401():
    from rest_framework.test import APIClient

    for path in ("/api/v1/audit/", "/api/v1/audit/verify", "/api/v1/audit/export"):
        assert APIClient().get(path).status_code == 401


def test_the_schema_describes_the_audit_endpoints():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/?format=json", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    text = schema.content.decode()
    for path in ("/api/v1/audit/", "/api/v1/audit/verify", "/api/v1/audit/export"):
        assert path in text
