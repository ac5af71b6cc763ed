"""The user guide's pages (docs/guide/), one per role, render in Chromium as the guide shows them; with
UPDATE_SCREENSHOTS=1 the test also writes the guide's screenshots (docs/guide/img/*.png), so that they follow
the product. Normal runs only check that each page renders with what the guide points at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone

from mirror.models import SyncRun
from tests.support.governance import request_and_check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMG = Path(__file__).resolve().parents[2] / "docs" / "guide" / "img"


def _shoot(page, name: str) -> None:
    assert page.console_errors == [], page.console_errors
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        IMG.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(500)  # charts finish drawing
        page.screenshot(path=str(IMG / f"{name}.png"), full_page=False)


@pytest.fixture
def guide_data(role_groups, churn, make_user, fast_hashes):
    """The guide's people (one per role) and a staging promotion awaiting a signature, the mirror in sync."""
    now = timezone.now()
    SyncRun.objects.create(kind=SyncRun.Kind.FULL, status="succeeded", started_at=now, finished_at=now)
    people = {
        "ml": make_user("rita", "ml-engineers"),
        "reviewer": make_user("rev", "reviewers"),
        "approver": make_user("ann", "approvers"),
        "auditor": make_user("audrey", "auditors"),
        "admin": make_user("stan", staff=True),
        "pipeline": make_user("ci-bot", "ml-engineers"),
    }
    promotion = request_and_check(people["ml"], version=2, target="staging")
    return people, promotion


def test_the_user_guide_pages_render_for_each_role(guide_data, open_page, settings):
    people, p = guide_data
    # (role, screenshot, path, a text the guide points at)
    shots = [
        ("ml", "ml-engineer-version", "/models/churn/versions/2/", "Request promotion"),
        ("ml", "ml-engineer-request", "/promotions/request/churn/2/", "Justification"),
        ("reviewer", "reviewer-inbox", "/promotions/?tab=inbox", "staging"),
        ("reviewer", "reviewer-sign", f"/promotions/{p.pk}/", "Meaning"),
        ("approver", "approver-promotions", "/promotions/", "churn"),
        ("auditor", "auditor-audit", "/audit/", "promotion.requested"),
        ("auditor", "auditor-evidence", "/evidence/", "Evidence"),
        ("admin", "admin-sync", "/sync/", "Sync"),
        ("admin", "admin-policy", "/policy/", "staging"),
        ("pipeline", "pipeline-token", "/accounts/profile/", "token"),
    ]
    for role, name, path, text in shots:
        page = open_page(people[role], path)
        assert text.lower() in page.inner_text("main").lower(), (name, path)
        _shoot(page, name)
        page.context.close()


def test_the_login_page_of_the_guide_shows_single_sign_on_and_local_accounts(
    guide_data, live_server, browser, settings
):
    settings.OIDC_RP_CLIENT_ID = "registry-governance"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example.com/authorize"
    settings.OIDC_PROVIDER_NAME = "Example SSO"
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.console_errors = []
    page.goto(live_server.url + "/accounts/login/")
    assert "Log in with Example SSO" in page.inner_text("main")
    assert page.is_visible("input[name=password]")
    _shoot(page, "login")
    page.context.close()
