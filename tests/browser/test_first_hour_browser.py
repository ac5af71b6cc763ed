"""In Chromium: the target history as of a time, a rollback to a holder observed before the app's first promotion
(justification typed, confirmation asked: dismissing it requests nothing), and Cancel asking before it acts."""

from __future__ import annotations

import os
import time

import pytest
from django.utils import timezone

from approvals.models import Promotion
from tests.support.browser import assert_nothing_ran, open_as
from tests.support.governance import mirror_alias, seed_model

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rollback_to_an_observed_holder_asks_for_a_justification_and_a_confirmation(
    policy_file, role_groups, people, browser, live_server, client, tmp_path
):
    seed_model("churn", (1, 2, 3))
    mirror_alias("churn", {"production": 1})
    time.sleep(1.1)  # the page's control has whole seconds
    t = timezone.now()
    time.sleep(1.1)
    mirror_alias("churn", {"production": 2})
    page = open_as(browser, live_server, client, people["requester"])
    page.goto(f"{live_server.url}/models/churn/history/")
    page.fill("#at", t.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("text=Show")
    page.wait_for_selector('[data-testid="as-of-production"]')
    assert "v1" in page.inner_text('[data-testid="as-of-production"]')
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    assert_nothing_ran(page)

    page.click("text=Roll back to v1")
    page.fill("#justification", "v2 mislabels churners.\nBack to v1 while we look.")
    page.click("button:has-text('Request rollback to v1')")  # the dialog is dismissed: nothing happens
    page.wait_for_timeout(300)
    assert page.dialogs == ["Request the rollback of production to v1?"]
    assert Promotion.objects.count() == 0
    page.evaluate("window.confirm = () => true")  # stands in for the user clicking OK
    page.click("button:has-text('Request rollback to v1')")
    page.wait_for_url("**/promotions/*/")
    r = Promotion.objects.get()
    assert (r.kind, r.version.version, r.justification) == (
        "rollback",
        1,
        "v2 mislabels churners.\nBack to v1 while we look.",
    )

    page.click("button:has-text('Cancel')")  # the real dialog, dismissed: nothing happens
    page.wait_for_timeout(300)
    assert page.dialogs[-1].startswith("Cancel this rollback?")
    r.refresh_from_db()
    assert r.state != "cancelled"
    page.evaluate("window.confirm = () => true")
    page.click("button:has-text('Cancel')")
    page.wait_for_load_state()
    page.wait_for_timeout(300)
    r.refresh_from_db()
    assert r.state == "cancelled"
    page.screenshot(path=str(tmp_path / "cancelled.png"), full_page=True)
    print("screenshots in", tmp_path)
