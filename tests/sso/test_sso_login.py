"""Issue 13, single sign-on: an OpenID Connect login against a real provider; its groups map to our roles (the
changes audited like any role change); groups that map to no role log in with no rights and the page says so;
local accounts stay (break-glass) and the login page shows both."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent, SsoIdentity
from tests.support import oidc

pytestmark = pytest.mark.django_db


def _groups(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_sso_is_off_without_settings_and_the_login_page_shows_only_local_accounts(client):
    res = client.get("/accounts/login/")
    assert res.status_code == 200 and b"sso-login" not in res.content
    assert client.get("/oidc/authenticate/").status_code == 404


def test_the_login_page_offers_single_sign_on_beside_local_accounts(client, sso):
    page = client.get("/accounts/login/").content.decode()
    assert "Log in with Example SSO" in page
    assert 'name="password"' in page  # break-glass local login stays


def test_a_provider_login_creates_the_account_with_the_roles_its_groups_map_to(client, sso):
    oidc.set_user(sso, "sub-sam", preferred_username="sam", email="sam@example.com", groups=["ml-team", "x"])
    res = oidc.log_in_through_provider(client, "sub-sam", next_path="/promotions/")
    assert res.status_code == 302 and res["Location"] == "/promotions/"
    sam = get_user_model().objects.get(username="sam")
    assert client.session["_auth_user_id"] == str(sam.pk)
    assert _groups(sam) == {"ml-engineers"} and not sam.is_staff and not sam.has_usable_password()
    identity = SsoIdentity.objects.get(user=sam)
    assert (identity.issuer, identity.subject) == (sso, "sub-sam")
    assert client.get("/promotions/").status_code == 200
    added = AuditEvent.objects.get(action="user.groups_added", object_id="sam")
    assert added.actor == "sso" and added.data["groups"] == ["ml-engineers"]
    assert AuditEvent.objects.filter(action="user.sso_linked", object_id="sam").exists()


def test_roles_follow_the_provider_groups_at_every_login_and_each_change_is_audited(client, sso):
    oidc.set_user(sso, "sub-ada", preferred_username="ada", groups=["model-review"])
    oidc.log_in_through_provider(client, "sub-ada")
    client.logout()
    oidc.set_user(sso, "sub-ada", preferred_username="ada", groups=["risk-approvers", "platform-admins"])
    oidc.log_in_through_provider(client, "sub-ada")
    ada = get_user_model().objects.get(username="ada")
    assert _groups(ada) == {"approvers"} and ada.is_staff
    actions = list(
        AuditEvent.objects.filter(object_id="ada", action__startswith="user.")
        .order_by("seq")
        .values_list("action", "actor", "data__groups")
    )
    assert ("user.groups_removed", "sso", ["reviewers"]) in actions
    assert ("user.groups_added", "sso", ["approvers"]) in actions
    assert AuditEvent.objects.filter(action="user.flags_changed", object_id="ada", actor="sso").exists()


def test_a_login_whose_groups_map_to_no_role_has_no_rights_and_the_page_says_so(client, sso):
    oidc.set_user(sso, "sub-nora", preferred_username="nora", groups=["marketing"])
    res = oidc.log_in_through_provider(client, "sub-nora")
    assert res.status_code == 302
    nora = get_user_model().objects.get(username="nora")
    assert client.session["_auth_user_id"] == str(nora.pk) and _groups(nora) == set()
    page = client.get("/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "map to no role here" in text and "marketing" in text
    api = client.get("/api/v1/models/")
    assert api.status_code == 403 and "no role" in api.json()["detail"]
    assert client.post("/accounts/logout/").status_code == 302


def test_a_provider_user_named_like_a_local_account_does_not_become_it(client, sso, make_user):
    make_user("root", staff=True)
    oidc.set_user(sso, "sub-evil", preferred_username="root", groups=["platform-admins"])
    res = oidc.log_in_through_provider(client, "sub-evil")
    assert res.status_code == 302 and "sso=failed" in res["Location"]
    assert "_auth_user_id" not in client.session
    assert not SsoIdentity.objects.exists()
    page = client.get(res["Location"]).content.decode()
    assert "is not linked to your single sign-on identity" in page


def test_an_id_token_from_another_issuer_is_refused(client, sso, settings):
    start = client.get("/oidc/authenticate/")
    back = oidc.authorize_at_provider(start["Location"], "sub-x")
    settings.OIDC_OP_ISSUER = "https://idp.example.com"  # the token's iss is no longer the configured one
    res = client.get(oidc.local_path(back))
    assert res.status_code == 302 and "sso=failed" in res["Location"]
    assert "_auth_user_id" not in client.session


def test_a_code_the_provider_refuses_is_a_failed_login_not_an_error(client, sso):
    start = client.get("/oidc/authenticate/")
    back = oidc.authorize_at_provider(start["Location"], "sub-x")
    client.get(oidc.local_path(back))
    client.logout()
    state_again = client.get("/oidc/authenticate/")  # a new state, with the used code
    state = state_again["Location"].split("state=")[1].split("&")[0]
    res = client.get(f"/oidc/callback/?code={back.split('code=')[1].split('&')[0]}&state={state}")
    assert res.status_code == 302 and "sso=failed" in res["Location"]
