"""The first hour with the app, issue items 3 and 14: the history page (observed holders as of a time, rollback
to any earlier one, staff adopting a holder), and forms that keep what was typed, ask for confirmation and
link the conflicting promotion."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from approvals.models import Promotion, TargetHolding
from approvals.workflow import requests
from tests.support.governance import (
    mirror_alias,
    request_and_check,
    seed_model,
)

pytestmark = pytest.mark.django_db


# --- 3 and 14. the history page and the forms ----------------------------------------------------------------------
def test_history_page_shows_observed_holders_as_of_a_time_and_offers_rollback_to_any_earlier_one(
    policy_file, people, client
):
    seed_model("churn", (1, 2, 3))
    mirror_alias("churn", {"production": 1})
    t = timezone.now()
    mirror_alias("churn", {"production": 2})
    mirror_alias("churn", {"production": 3})
    client.force_login(people["requester"])
    html = client.get("/models/churn/history/", {"at": t.strftime("%Y-%m-%dT%H:%M:%S.%f")}).content.decode()
    assert "observed in MLflow" in html
    assert re.search(r'data-testid="as-of-production">At [^<]+: <strong>v1</strong>', html)
    assert "Roll back to v1" in html and "Roll back to v2" in html
    assert 'name="at"' in html and 'type="datetime-local"' in html
    assert "Adopt v3" not in html  # staff only
    assert client.get("/models/churn/history/", {"at": "soon"}).status_code == 400


def test_a_rollback_asks_for_a_justification_and_a_confirmation_and_keeps_what_was_typed(
    policy_file, people, client
):
    seed_model("churn", (1, 2, 3))
    mirror_alias("churn", {"production": 1})
    mirror_alias("churn", {"production": 2})
    client.force_login(people["requester"])
    page = client.get("/models/churn/rollback/", {"target": "production", "to_version": "1"}).content.decode()
    assert '<textarea id="justification" name="justification"' in page and "data-confirm=" in page
    assert Promotion.objects.count() == 0  # the GET only asks
    res = client.post(
        "/models/churn/rollback/", {"target": "production", "to_version": "1", "justification": " "}
    )
    assert res.status_code == 400 and "justification is required" in res.content.decode()
    typed = "v2 mislabels churners.\nGoing back to v1 while we look."
    res = client.post(
        "/models/churn/rollback/", {"target": "production", "to_version": "1", "justification": typed}
    )
    r = Promotion.objects.get(kind="rollback")
    assert res["Location"] == f"/promotions/{r.pk}/" and r.justification == typed and r.version.version == 1
    # the same again: refused, with what was typed kept and a link to the open rollback
    res = client.post(
        "/models/churn/rollback/", {"target": "production", "to_version": "1", "justification": typed}
    )
    html = res.content.decode()
    assert res.status_code == 409  # a conflict with the open rollback (the page answers the error's status)
    assert f'href="/promotions/{r.pk}/"' in html and "v2 mislabels churners." in html


def test_the_request_form_keeps_the_typed_justification_and_links_the_conflicting_promotion(
    policy_file, people, client
):
    seed_model("churn", (1, 2))
    client.force_login(people["requester"])
    typed = "Line one.\nLine two."
    client.post("/promotions/request/churn/2/", {"target": "staging", "justification": typed})
    p = Promotion.objects.get()
    res = client.post("/promotions/request/churn/2/", {"target": "staging", "justification": typed})
    html = res.content.decode()
    assert res.status_code == 400
    assert f'<a href="/promotions/{p.pk}/">See promotion #{p.pk}</a>' in html
    assert "Line one.\nLine two.</textarea>" in html
    assert '<option value="staging" selected>' in html


def test_cancel_asks_for_confirmation(policy_file, people, client):
    seed_model("churn", (1, 2))
    p = requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    client.force_login(people["requester"])
    html = client.get(f"/promotions/{p.pk}/").content.decode()
    assert re.search(r'data-confirm="Cancel this promotion\?[^"]*">Cancel</button>', html)


def test_staff_adopt_from_the_history_page(policy_file, people, client):
    seed_model("churn", (1, 2))
    mirror_alias("churn", {"production": 2}, versions=(1, 2))
    client.force_login(people["requester"])
    assert client.get("/models/churn/adopt/", {"target": "production"}).status_code == 403
    client.force_login(people["staff"])
    assert "Adopt v2 as the approved holder" in client.get("/models/churn/history/").content.decode()
    res = client.post("/models/churn/adopt/", {"target": "production", "justification": ""})
    assert res.status_code == 400 and TargetHolding.objects.get().adopted_at is None
    res = client.post("/models/churn/adopt/", {"target": "production", "justification": "set up by hand"})
    assert res.status_code == 302
    h = TargetHolding.objects.get()
    assert h.adopted_by == people["staff"]
    html = client.get("/models/churn/history/").content.decode()
    assert "adopted by stan" in html and "Adopt v2" not in html


def test_staff_adopt_through_the_api(policy_file, people, api):
    seed_model("churn", (1, 2))
    mirror_alias("churn", {"production": 2}, versions=(1, 2))
    url = "/api/v1/models/churn/history/adopt"
    api.force_authenticate(people["requester"])
    assert api.post(url, {"target": "production", "justification": "x"}, format="json").status_code == 403
    api.force_authenticate(people["staff"])
    assert api.post(url, {"target": "production"}, format="json").status_code == 400
    res = api.post(url, {"target": "production", "justification": "set up by hand"}, format="json")
    assert res.status_code == 201
    assert (res.json()["version"], res.json()["adopted_by"]) == (2, "stan")
    assert api.post(url, {"target": "production", "justification": "again"}, format="json").status_code == 409
    assert api.post(url, {"target": "staging", "justification": "none"}, format="json").status_code == 409


def test_a_refused_signature_form_keeps_the_comment_and_meaning_but_not_the_password(
    policy_file, people, client
):
    seed_model("churn", (1, 2))
    p = request_and_check(people["requester"], version=2, target="staging")
    client.force_login(people["a1"])
    comment = "Checked the metrics.\nFine by me."
    res = client.post(
        f"/promotions/{p.pk}/sign/",
        {"decision": "approve", "meaning": "review", "comment": comment, "password": "wrong-password"},
    )
    assert res.status_code == 302
    html = client.get(f"/promotions/{p.pk}/").content.decode()
    assert f">{comment}</textarea>" in html
    assert '<option value="review" selected>' in html
    assert "wrong-password" not in html
    html = client.get(f"/promotions/{p.pk}/").content.decode()  # shown again once, not forever
    assert f">{comment}</textarea>" not in html


def test_the_version_page_asks_for_a_multi_line_justification(policy_file, people, client):
    seed_model("churn", (1, 2))
    client.force_login(people["requester"])
    html = client.get("/models/churn/versions/2/").content.decode()
    assert re.search(r'<textarea name="justification"[^>]*>', html)
    assert 'type="text" name="justification"' not in html
