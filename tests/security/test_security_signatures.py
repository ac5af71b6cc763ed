"""Issue 8, "Trust holes", items 1, 4, 6 and 8: each hole reproduced as an attack, and shown closed.

1. A signature can be given for someone else (another user's token + one's own fresh session; token keys
   readable by staff).
4. Signatures do not bind to what is applied (a card reverted or a required tag deleted after a signature).
6. No brute-force protection (logins, signing), and a wrong-password oracle on the approve endpoint: in
   test_security_brute_force.py.
8. A rejection stored with the meaning "approval".
"""

from __future__ import annotations

import textwrap

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from approvals.models import Approval, OutboxItem
from approvals.workflow import gating, signatures
from audit.models import AuditEvent
from common.errors import NotAllowed
from tests.support.governance import (
    PASSWORD,
    approve,
    change_version_after_signing,
    request_and_check,
    run_outbox,
    seed_model,
)
from tests.support.tokens import issue_key

pytestmark = pytest.mark.django_db


def _token_client(user, *, session_of=None) -> APIClient:
    c = APIClient()
    if session_of is not None:
        c.force_login(session_of)  # a real login: user_logged_in fires, the session is brand new
    c.credentials(HTTP_AUTHORIZATION=f"Token {issue_key(user)}")
    return c


def _approve_url(p) -> str:
    return f"/api/v1/promotions/{p.pk}/approve"


# --- 1. a signature for someone else -----------------------------------------------------------------------
def test_a_token_of_ann_and_my_own_fresh_session_do_not_sign_as_ann(churn, people, fake_mlflow):
    p = request_and_check(people["requester"], version=2, target="production")
    mallory = people["a3"]
    forged = 0
    for victim in (people["a1"], people["a2"]):
        res = _token_client(victim, session_of=mallory).post(_approve_url(p), {}, format="json")
        assert res.status_code == 403, res.content
        forged += Approval.objects.filter(promotion=p, reviewer=victim).count()
    assert forged == 0
    p.refresh_from_db()
    assert p.state == "awaiting_approval"
    assert not OutboxItem.objects.filter(promotion=p).exists()


def test_one_staff_user_cannot_request_sign_twice_and_apply_a_production_promotion(
    churn, people, client, fake_mlflow
):
    """The issue's story: staff requests, then signs as both approvers with their tokens (read in the admin
    before) and a fresh session of their own."""
    staff = people["staff"]
    keys = {name: issue_key(people[name]) for name in ("a1", "a2")}
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    admin_page = client.get("/admin/accounts/apitoken/").content.decode()
    p = request_and_check(staff, version=2, target="production")
    forged = self_approvals = 0
    for name in ("a1", "a2"):
        victim = people[name]
        assert keys[name] not in admin_page
        c = APIClient()  # the strongest case: the key leaked anyway
        c.force_login(staff)
        c.credentials(HTTP_AUTHORIZATION=f"Token {keys[name]}")
        res = c.post(_approve_url(p), {"password": "demo-pass-2026"}, format="json")
        assert res.status_code == 403
        forged += Approval.objects.filter(promotion=p, reviewer=victim).count()
    own = _token_client(staff, session_of=staff).post(_approve_url(p), {"password": PASSWORD}, format="json")
    assert own.status_code == 403 and "requested" in own.json()["detail"]
    self_approvals += Approval.objects.filter(promotion=p, reviewer=staff).count()
    p.refresh_from_db()
    assert (forged, self_approvals, p.state, fake_mlflow.writes) == (0, 0, "awaiting_approval", [])


def test_every_signature_asks_for_the_password_even_right_after_login(churn, people, client):
    p = request_and_check(people["requester"], version=2, target="staging")
    client.post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    res = client.post(
        f"/promotions/{p.pk}/sign/", {"decision": "approve", "meaning": "approval"}, follow=True
    )
    assert "Re-enter your password" in res.content.decode()
    assert not Approval.objects.exists()
    with pytest.raises(NotAllowed):
        signatures.approval_grant(promotion_id=p.pk, user=people["a1"], password=None)
    assert not Approval.objects.exists()


def test_a_signature_records_how_the_signer_authenticated_and_the_hashes_it_signed(churn, people):
    p = request_and_check(people["requester"], version=2, target="production")
    res = _token_client(people["a1"]).post(_approve_url(p), {"password": PASSWORD}, format="json")
    assert res.status_code == 200, res.content
    (sig,) = res.json()["approvals"]
    assert sig["auth_method"] == "password"
    for key in ("version_hash", "card_hash", "gates_hash"):
        assert sig[key].startswith("sha256:"), key
    assert sig["counts"] is True and sig["superseded_at"] is None
    assert Approval.objects.get().auth_method == "password"
    event = AuditEvent.objects.filter(action="promotion.signed").get()
    assert event.data["auth_method"] == "password"
    assert event.data["signed_hashes"]["gates_hash"] == sig["gates_hash"]


def test_the_profile_shows_a_new_token_key_once_and_never_again(people, client):
    client.force_login(people["a1"])
    res = client.post("/accounts/profile/", {"action": "create", "name": "laptop"})
    html = res.content.decode()
    key = html.split('id="api-token">')[1].split("<")[0]
    assert key.startswith("rgt_") and ApiToken.objects.filter(user=people["a1"], name="laptop").exists()
    assert res["Cache-Control"] == "no-store"
    assert key not in client.get("/accounts/profile/").content.decode()


def test_staff_cannot_read_token_keys_in_the_admin(people, client):
    keys = [issue_key(people[name]) for name in ("a1", "a2")]
    admin = people["staff"]
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "ann" in html and "bob" in html  # who has a token is visible
    assert all(key not in html for key in keys)  # the keys are not: no column, link, checkbox or title
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403


# --- 4. signatures bind to what is applied --------------------------------------------------------------------
CARD_POLICY = textwrap.dedent(
    """
    version: 1
    targets:
      production:
        mlflow: {alias: production}
        approvals: 2
        approver_groups: [approvers]
        gates:
          - version_ready
          - required_tags: {tags: {data_validated: "true"}}
          - model_card_complete: {threshold: 0.8}
    """
)


@pytest.fixture
def card_policy(use_policy):
    return use_policy(CARD_POLICY)


def _complete_card(mv) -> int:
    from cards import services as cards
    from cards.sections import HUMAN_SECTIONS

    rev = cards.ensure_card(mv=mv)
    md = rev.markdown
    for key, (_, placeholder) in HUMAN_SECTIONS.items():
        md = md.replace(placeholder, f"Written {key.replace('_', ' ')}.")
    md = md.replace("---\n", "---\nlicense: apache-2.0\n", 1)
    return cards.save_card(mv=mv, markdown=md, author="eve", base_revision=rev.revision).revision


def _superseded(p):
    return list(Approval.objects.filter(promotion=p, superseded_at__isnull=False).order_by("pk"))


def test_a_card_reverted_after_the_first_signature_is_not_applied_as_passed(card_policy, people, fake_mlflow):
    from cards import services as cards
    from cards.models import CardRevision
    from mirror.models import ModelVersion

    seed_model("churn", (1, 2))
    mv = ModelVersion.objects.get(model__name="churn", version=2)
    complete_revision = _complete_card(mv)
    p = request_and_check(people["requester"], version=2, target="production")
    assert p.state == "awaiting_approval", list(p.gate_results.values_list("name", "status", "detail"))
    approve(p, people["a1"])
    # The card goes back to the bare draft (33 % complete) between the two signatures.
    draft = CardRevision.objects.get(version=mv, revision=1).markdown
    cards.save_card(mv=mv, markdown=draft, author="eve", base_revision=complete_revision)
    approve(p, people["a2"])
    assert p.state == "blocked"
    assert not OutboxItem.objects.filter(promotion=p).exists()
    assert fake_mlflow.writes == []
    gates = dict(p.gate_results.values_list("name", "status"))
    assert gates["model_card_complete"] == "failed"
    assert len(_superseded(p)) == 2  # both kept as records, neither counts
    res = _token_client(people["a1"]).get(f"/api/v1/promotions/{p.pk}/")
    body = res.json()
    assert body["state"] == "blocked"
    assert all(not a["counts"] and "model_card_complete" in a["superseded_reason"] for a in body["approvals"])
    assert "promotion.signatures_superseded" in AuditEvent.objects.values_list("action", flat=True)


def test_a_required_tag_deleted_after_approval_blocks_the_apply(churn, people, fake_mlflow):
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    approve(p, people["a2"])
    assert p.state == "approved"
    # Someone with write access to MLflow deletes the tag; the sync brings it into the mirror.
    seed_model("churn", (1, 2, 3), aliases={"production": 1}, version_tags={2: {}})
    assert run_outbox(p) == ["invalidated"]
    assert p.state == "blocked"
    assert fake_mlflow.writes == []
    assert {a.reviewer.username for a in _superseded(p)} == {"ann", "bob"}
    assert "required_tags" in _superseded(p)[0].superseded_reason
    item = OutboxItem.objects.get(promotion=p)
    assert (item.outcome, item.done_at is not None) == ("invalidated", True)


def test_a_tag_deleted_between_signatures_blocks_at_the_last_signature(churn, people, fake_mlflow):
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    seed_model("churn", (1, 2, 3), aliases={"production": 1}, version_tags={2: {}})
    approve(p, people["a2"])
    assert p.state == "blocked"
    assert not OutboxItem.objects.filter(promotion=p).exists()
    assert dict(p.gate_results.values_list("name", "status"))["required_tags"] == "failed"


def test_after_a_block_fresh_signatures_on_the_restored_state_apply(churn, people, fake_mlflow):
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    approve(p, people["a2"])
    seed_model("churn", (1, 2, 3), aliases={"production": 1}, version_tags={2: {}})
    run_outbox(p)
    assert p.state == "blocked"
    seed_model("churn", (1, 2, 3), aliases={"production": 1})  # the tag is back
    gating.recheck(promotion_id=p.pk, user=people["requester"])
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "awaiting_approval"  # the superseded signatures do not count towards the quorum
    approve(p, people["a1"])
    assert p.state == "awaiting_approval"
    approve(p, people["a2"])
    assert p.state == "approved"
    assert run_outbox(p) == ["applied"]
    assert p.state == "applied"
    assert fake_mlflow.aliases[("churn", "production")] == 2
    assert Approval.objects.filter(promotion=p).count() == 4  # the old two kept as records
    assert Approval.objects.filter(promotion=p, superseded_at__isnull=True).count() == 2


def test_a_version_changed_after_a_signature_needs_that_signature_again(churn, people, fake_mlflow):
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    # Gates still pass, but the version is not what ann signed any more.
    change_version_after_signing()
    approve(p, people["a2"])
    assert p.state == "awaiting_approval"
    (old,) = _superseded(p)
    assert old.reviewer == people["a1"] and "model version" in old.superseded_reason
    assert (
        old.superseded_reason
        in _token_client(people["a3"]).get(f"/api/v1/promotions/{p.pk}/").content.decode()
    )
    approve(p, people["a1"])  # ann signs again, on what is there now
    assert p.state == "approved"
    assert run_outbox(p) == ["applied"]


def test_the_promotion_page_says_why_signatures_no_longer_count(churn, people, client, fake_mlflow):
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    seed_model("churn", (1, 2, 3), aliases={"production": 1}, version_tags={2: {}})
    client.force_login(people["a2"])
    res = client.post(
        f"/promotions/{p.pk}/sign/",
        {"decision": "approve", "password": PASSWORD, "meaning": "approval"},
        follow=True,
    )
    html = res.content.decode()
    assert "Your signature is recorded but does not count" in html
    assert "Signatures that no longer count" in html and "required_tags" in html
    assert html.count('class="superseded"') == 2


# --- 8. the meaning of a rejection ---------------------------------------------------------------------------
def test_the_sign_form_preselects_no_meaning(churn, people, client):
    p = request_and_check(people["requester"], version=2, target="production")
    client.force_login(people["a1"])
    html = client.get(f"/promotions/{p.pk}/").content.decode()
    assert '<option value="" selected>' in html
    assert 'value="approval" selected' not in html


def test_a_rejection_records_the_meaning_the_signer_chose(churn, people, client):
    p = request_and_check(people["requester"], version=2, target="production")
    client.force_login(people["a1"])
    res = client.post(f"/promotions/{p.pk}/sign/", {"decision": "reject", "password": PASSWORD}, follow=True)
    assert "Choose the meaning" in res.content.decode()
    assert not Approval.objects.exists()
    client.post(
        f"/promotions/{p.pk}/sign/", {"decision": "reject", "password": PASSWORD, "meaning": "responsibility"}
    )
    a = Approval.objects.get()
    assert (a.decision, a.meaning) == ("reject", "responsibility")
    event = AuditEvent.objects.filter(action="promotion.signed").get()
    assert (event.data["decision"], event.data["meaning"]) == ("reject", "responsibility")
