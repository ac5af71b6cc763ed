"""Issue 14: every page of the URL configuration in Chromium, under the Content-Security-Policy production sends,
on a world whose every free-text field holds XSS payloads (written into a real MLflow server and mirrored, or
through the app's services): no CSP violation, no console error, no uncaught error, no failed same-origin
request, no dialog, no payload markup in the DOM and no payload's canary set, with the pages' scripts exercised
(plotly hover labels, every lineage node's side panel, lazy charts, the card preview). Then every GET form
(search boxes, filters) is submitted with payloads in its fields, and the card's HTML export is opened as the
document it is. A last pass turns the CSP off: escaping alone must keep every payload inert.

Pages come from the URL configuration (tests/support/page_sweep.visits); a GET route with no instance fails
the test unless tests/support/page_sweep.NOT_PAGES says why it is no HTML page."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from tests.support import page_sweep as sweep
from tests.support import page_world
from tests.support.deploy import production_env, run

pytestmark = [pytest.mark.browser, pytest.mark.mlflow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def production_csp(tmp_path):
    """The Content-Security-Policy header value of the production settings (read in a production process)."""
    code = "import django; django.setup(); from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY)"
    result = run(["-c", code], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def world(mlflow_uri, mlflow_client, policy_file, role_groups, fast_hashes, eager_tasks, tmp_path):
    return page_world.build(mlflow_client, tmp_path)


def _sessions(world) -> dict:
    found = {None: None}
    for role, user in world.users.items():
        client = Client()
        client.force_login(user)
        found[role] = client.cookies["sessionid"].value
    return found


def _export(s: sweep.Sweep, page, path: str) -> None:
    """An export as the file a user opens: the answer's body and its own CSP, without the attachment header."""
    answer = page.context.request.get(s.base + path)
    assert answer.status == 200, (path, answer.status)
    url = s.base + "/__export__/card.html"
    headers = {"content-type": answer.headers["content-type"]}
    headers["content-security-policy"] = answer.headers["content-security-policy"]
    page.route(url, lambda route: route.fulfill(status=200, headers=headers, body=answer.body()))
    page.notes.clear()
    page.goto(url)
    s.loads += 1
    sweep.check(s, page, path, "staff")
    page.unroute(url)


def _pass(browser, base, sessions, planned, *, csp, bypass_csp=False, reflect=True) -> sweep.Sweep:
    s = sweep.Sweep(base)
    pages: dict = {}

    def page_of(role):
        if role not in pages:
            pages[role] = sweep.open_context(browser, base, sessions[role], bypass_csp=bypass_csp)
        return pages[role]

    reflections: dict = {}
    for v in planned:
        forms = sweep.visit(s, page_of(v.role), v, csp=csp)
        for path in sweep.reflected(forms, base, "query") if reflect else ():
            reflections.setdefault((path, v.role), v.template)
    for (path, role), template in reflections.items():
        sweep.visit(s, page_of(role), sweep.Visit(template, path, role), csp=csp, statuses=(200, 400))
    return s


def test_every_page_renders_under_the_production_csp_with_no_error_and_no_payload_running(
    world, production_csp, browser, live_server
):
    world, name, digest = world
    started = time.monotonic()
    sessions = _sessions(world)
    queries = sweep.production_paths(world, name, digest)
    planned, unresolved = sweep.visits(world, queries)
    with_csp = _pass(browser, live_server.url, sessions, planned, csp=production_csp)
    staff_page = sweep.open_context(browser, live_server.url, sessions["staff"])
    for template in sweep.EXPORTS:
        _export(with_csp, staff_page, template.replace("{name}", world.params["name"]["model"]).replace(
            "{version}", "2"))  # fmt: skip
    # Each page once more, as staff where staff may, without the CSP: escaping alone keeps every payload inert.
    as_staff, _ = sweep.visits(world, queries, rotate=False)
    without_csp = _pass(
        browser, live_server.url, sessions, as_staff, csp=None, bypass_csp=True, reflect=False
    )

    required = {v.template for v in planned}
    missing = sorted(required - with_csp.seen)
    sweep.print_table(with_csp, "under the production CSP")
    sweep.print_table(without_csp, "without the CSP")
    print(f"every_page_seconds: {time.monotonic() - started:.1f}")
    assert unresolved == [], unresolved
    assert missing == [], "page templates without a page rendered"
    assert with_csp.problems == [] and without_csp.problems == []
