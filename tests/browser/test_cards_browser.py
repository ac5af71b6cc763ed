"""In Chromium: a card full of XSS payloads executes nothing (no dialog, no CSP violation) on the card page,
in the editor's live preview, in a revision diff and in the HTML export; two editors' concurrent saves."""

from __future__ import annotations

import pytest

from cards import services
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests import factories as f
from tests.support.browser import assert_nothing_ran, open_as
from tests.support.xss import OWASP_PAYLOADS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Runs before any page script: collects CSP violations (an injected inline script or style fires one).
@pytest.fixture
def mv(role_groups):
    apply_snapshot(f.snapshot([f.mlflow_model("churn")], [f.mlflow_version("churn", 1)]))
    return ModelVersion.objects.select_related("model").get()


def test_xss_payloads_execute_nothing_in_chromium(browser, live_server, client, make_user, mv):
    editor = make_user("eve", "ml-engineers")
    payload_md = "## Intended use\n\n" + "\n\n".join(
        f"- {p}" if i % 2 else p for i, p in enumerate(OWASP_PAYLOADS)
    )
    base = services.ensure_card(mv=mv)
    services.save_card(
        mv=mv, markdown=base.markdown + "\n" + payload_md + "\n", author="eve", base_revision=1
    )
    page = open_as(browser, live_server, client, editor)
    card = f"{live_server.url}/models/churn/versions/1/card/"

    page.goto(card)
    page.mouse.move(200, 300)
    page.mouse.move(600, 700)  # hover what might carry onmouseover
    assert page.locator("#card-body h2").count() > 5
    assert_nothing_ran(page)

    page.goto(card + "diff/?from=1&to=2")
    assert page.locator("table.diff").count() == 1
    assert_nothing_ran(page)

    page.goto(card + "edit/")
    page.wait_for_selector("#card-preview .prose h2")
    textarea = page.locator("#card-markdown")
    textarea.fill(
        "## Live\n\n<img src=x onerror=alert(1)><script>alert(2)</script>[x](javascript:alert(3))\n"
    )
    page.wait_for_selector("#card-preview h2#live")  # the live preview came back from the server
    page.locator("#card-preview a").first.click(no_wait_after=True) if page.locator(
        "#card-preview a"
    ).count() else None
    assert_nothing_ran(page)

    export = page.context.request.get(card + "export/?format=html")
    assert export.ok
    html_page = page.context.new_page()
    html_page.dialogs = []
    html_page.on("dialog", lambda d: (html_page.dialogs.append(d.message), d.dismiss()))
    html_page.set_content(export.text())  # the export as an auditor's browser would open the file
    html_page.wait_for_timeout(300)
    assert html_page.dialogs == []


def test_two_editors_saving_at_once_the_second_sees_both_texts(browser, live_server, client, make_user, mv):
    from django.test import Client

    services.ensure_card(mv=mv)
    eve = open_as(browser, live_server, client, make_user("eve", "ml-engineers"))
    bob = open_as(browser, live_server, Client(), make_user("bob", "reviewers"))
    edit = f"{live_server.url}/models/churn/versions/1/card/edit/"
    eve.goto(edit)
    bob.goto(edit)

    bob.locator("#card-markdown").fill("# Bob's card\n")
    bob.locator("#card-comment").fill("bob first")
    bob.locator("#card-save").click()
    bob.wait_for_url("**/card/")
    assert "Bob" in bob.locator("#card-body").inner_text()

    eve.locator("#card-markdown").fill("# Eve's card\n")
    eve.locator("#card-save").click()
    eve.wait_for_selector("#card-conflict")
    assert eve.locator("#theirs-text").input_value() == "# Bob's card\n"
    assert eve.locator("#yours-text").input_value() == "# Eve's card\n"
    assert eve.locator("#card-markdown").input_value() == "# Eve's card\n"  # nothing of hers is lost
    assert eve.locator("input[name=base_revision]").input_value() == "2"
    # She re-saves deliberately on top of Bob's revision.
    eve.locator("#card-save").click()
    eve.wait_for_url("**/card/")
    assert "Eve" in eve.locator("#card-body").inner_text()
    assert_nothing_ran(eve)
