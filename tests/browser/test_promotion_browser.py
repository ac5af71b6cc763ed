"""In Chromium, the reviewer's path: log in, open the inbox, open the promotion, sign with password and
meaning, see it applied (MLflow faked in-process; the apply runs eagerly after the signing commits)."""

from __future__ import annotations

import os

import pytest

from approvals.models import Approval, Promotion
from tests.support.governance import PASSWORD, request_and_check, seed_model

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(browser):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(20_000)
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    return page


def test_reviewer_logs_in_finds_the_promotion_in_the_inbox_signs_and_sees_it_applied(
    policy_file, role_groups, fast_hashes, make_user, fake_mlflow, eager_tasks, browser_page, live_server
):
    seed_model("browsed", (1, 2))
    requester = make_user("rita", "ml-engineers")
    reviewer = make_user("rev", "reviewers")
    reviewer.first_name, reviewer.last_name = "Rhea", "Viewer"
    reviewer.save()
    p = request_and_check(requester, model="browsed", version=2, target="staging")
    assert p.state == "awaiting_approval"

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/promotions/%3Ftab%3Dinbox")
    page.fill("input[name=username]", "rev")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/promotions/?tab=inbox")
    assert page.inner_text(".inbox-count").strip() == "1"
    page.click(f"a[href='/promotions/{p.pk}/']")
    page.wait_for_selector(".gates-table")
    assert "version_ready" in page.inner_text(".gates-table")
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOT_DIR"], "promotion-to-sign.png"), full_page=True
        )
    page.fill("#sign-password", PASSWORD)
    page.select_option("#sign-meaning", "review")
    page.fill("#sign-comment", "Checked the gates and the card.")
    page.click("button[name=decision][value=approve]")
    page.wait_for_selector(".promotion-state")
    page.wait_for_function(
        "document.querySelector('.promotion-state').textContent.trim() === 'applied'", timeout=20_000
    )
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOT_DIR"], "promotion-applied.png"), full_page=True
        )
    sigs = page.inner_text(".signatures-table")
    assert "Rhea Viewer" in sigs and "review" in sigs and "Checked the gates" in sigs
    p.refresh_from_db()
    assert p.state == "applied"
    assert fake_mlflow.aliases[("browsed", "staging")] == 2
    a = Approval.objects.get(promotion=p)
    assert (a.printed_name, a.meaning) == ("Rhea Viewer", "review")
    assert not page.console_errors, page.console_errors
    page.goto(f"{live_server.url}/promotions/?tab=inbox")
    assert page.inner_text(".inbox-count").strip() == "0"
    assert Promotion.objects.filter(state="applied").count() == 1
