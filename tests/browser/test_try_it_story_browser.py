"""The README's "Try it" story, click by click in Chromium, against the seeded demo in a real MLflow server with
a real Celery worker and the repository's own policies.yaml: alice packages the candidate as ONNX and requests
production for it,
the gate shows the one missing card section, she writes it and re-runs the gates, ann and arthur sign with
their passwords, the worker moves the alias in MLflow (timed: the elapsed time is printed); then audrey reads the
audit log and builds and downloads the evidence pack."""

from __future__ import annotations

import re
import time

import pytest
from django.core.management import call_command

from cards.sections import HUMAN_SECTIONS
from demo.cards import LEFT_FOR_THE_STORY
from demo.catalog import TRY_IT_CANDIDATE, TRY_IT_HOLDER, TRY_IT_MODEL

pytestmark = [pytest.mark.browser, pytest.mark.mlflow, pytest.mark.celery]

DEMO_PASSWORD = "demo-pass-2026"
STORY_BUDGET_SECONDS = 180


@pytest.fixture
def demo(mlflow_uri, seeded_mlflow, mlflow_client, settings, monkeypatch, role_groups, celery_worker_process):
    """What `make run` prepares: demo users, the mirror of the seeded MLflow, the demo cards.
    The session's MLflow is shared: the aliases the story moves are put back afterwards."""
    # As `make run` gives it to its processes: MLflow's `models:/` URIs resolve against the environment.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    from approvals import policy
    from mirror.models import ModelVersion, SyncRun
    from mirror.services import read_version_artifacts
    from mirror.sync import execute_sync

    settings.POLICY_PATH = str(settings.BASE_DIR / "policies.yaml")
    policy.clear_cache()
    before = dict(mlflow_client.get_registered_model(TRY_IT_MODEL).aliases)
    call_command("create_demo_users", stdout=open("/dev/null", "w"))
    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    assert run.status == "succeeded", run.error
    for pk in ModelVersion.objects.filter(model__name=TRY_IT_MODEL).values_list("pk", flat=True):
        read_version_artifacts(model_version_id=pk)
    call_command("seed_demo_cards", stdout=open("/dev/null", "w"))
    versions = {
        mv.tags.get("demo.key"): mv.version for mv in ModelVersion.objects.filter(model__name=TRY_IT_MODEL)
    }
    yield {"candidate": versions[TRY_IT_CANDIDATE], "holder": versions[TRY_IT_HOLDER]}
    for alias, version in before.items():
        mlflow_client.set_registered_model_alias(TRY_IT_MODEL, alias, version)
    policy.clear_cache()


@pytest.fixture
def browser_page(browser):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(30_000)
    return page


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".nav-user .username")
    assert page.inner_text(".nav-user .username").strip() == username


def log_out(page):
    page.click(".nav-user button[type=submit]")
    page.wait_for_selector(".nav-user a.btn-nav")


def wait_for_state(page, *states, timeout=60_000):
    """The state the promotion page shows once it reaches one of `states` (its htmx panel polls every 2 s).
    A CSS selector, not a JS predicate: the app's CSP forbids the eval that wait_for_function needs."""
    page.wait_for_selector(", ".join(f"#promotion-live[data-state={s}]" for s in states), timeout=timeout)
    return page.get_attribute("#promotion-live", "data-state")


def sign(page, base, username):
    """An approver's part: log in, open the inbox, open the promotion, sign with the password."""
    log_in(page, base, username)
    page.click("a[href='/promotions/']")
    page.click("a[href='?tab=inbox']")
    assert page.inner_text(".inbox-count").strip() == "1"
    page.click(".promotions-table a[href^='/promotions/']")
    page.fill("#sign-password", DEMO_PASSWORD)
    page.select_option("#sign-meaning", "approval")
    page.fill("#sign-comment", "Gates pass; v2 beats production on test_f1.")
    page.click("button[name=decision][value=approve]")
    page.wait_for_selector(".signatures-table")
    assert username in page.inner_text(".signatures-table")
    log_out(page)


def test_newcomer_follows_the_readme_try_it_story_to_an_applied_production_promotion(
    demo, browser_page, live_server, mlflow_client
):
    from approvals.models import Promotion

    page, base, candidate = browser_page, live_server.url, demo["candidate"]
    assert mlflow_client.get_registered_model(TRY_IT_MODEL).aliases["production"] == str(demo["holder"])
    started = time.monotonic()

    promotion_id = request_production(page, base, candidate)
    gates_block_on_the_card_only(page)
    write_the_missing_card_section_and_rerun_the_gates(page, candidate, promotion_id)

    # 4. Two approvers sign with their passwords; the worker applies the change to MLflow.
    sign(page, base, "ann")
    sign(page, base, "arthur")
    log_in(page, base, "alice")
    page.goto(f"{base}/promotions/{promotion_id}/")
    assert wait_for_state(page, "applied", "failed") == "applied"
    elapsed = time.monotonic() - started

    print(f"try_it_story_seconds: {elapsed:.1f}")
    p = Promotion.objects.get(pk=promotion_id)
    assert (p.state, p.previous_version, p.version.version) == ("applied", demo["holder"], candidate)
    assert mlflow_client.get_registered_model(TRY_IT_MODEL).aliases["production"] == str(candidate)
    assert elapsed < STORY_BUDGET_SECONDS
    log_out(page)

    auditor_reads_the_story_and_downloads_the_evidence(page, base, candidate, demo["holder"])


def request_production(page, base, candidate) -> int:
    """1. ML engineer: package the candidate as ONNX (the gate package_valid), then request production for it;
    the promotion's id."""
    log_in(page, base, "alice")
    page.click("a[href='/models/']")
    page.click(f"a[href='/models/{TRY_IT_MODEL}/']")
    page.click(f"a[href='/models/{TRY_IT_MODEL}/versions/{candidate}/']")
    assert re.search(r"\d+\.\d+\.\d+\+[0-9a-f]{8}", page.inner_text(".semver"))
    packages = page.locator("form.package-form")
    packages.locator("select[name=format]").select_option("onnx")
    packages.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/packages/\d+/$"))  # the job's page, polled while it runs
    page.wait_for_selector("#package-state.status-succeeded, #package-state.status-failed", timeout=120_000)
    assert page.inner_text("#package-state") == "succeeded", page.inner_text("#package-job")
    page.click(f".subtitle a[href='/models/{TRY_IT_MODEL}/versions/{candidate}/']")
    assert "succeeded" in page.inner_text("#package-onnx")
    form = page.locator("form.request-promotion")
    form.locator("select[name=target]").select_option("production")
    form.locator("textarea[name=justification]").fill("Beats the production baseline on test_f1.")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/promotions/\d+/$"))
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def gates_block_on_the_card_only(page):
    """2. The gates run on the worker: everything passes but the card, which names the missing section."""
    assert wait_for_state(page, "blocked", "awaiting_approval") == "blocked"
    gate = page.inner_text(".gate-row[data-gate=model_card_complete]")
    assert "fail" in gate.lower() and "89%" in gate and LEFT_FOR_THE_STORY in gate, gate
    others = page.locator(".gate-row:not([data-gate=model_card_complete])")
    for i in range(others.count()):
        assert "pass" in others.nth(i).inner_text().lower(), others.nth(i).inner_text()


def write_the_missing_card_section_and_rerun_the_gates(page, candidate, promotion_id):
    """3. Write the missing section of the card, save, and re-run the gates."""
    page.click("text=Open the card")
    page.click("#model-card a:has-text('Edit')")
    editor = page.locator("#card-markdown")
    placeholder = HUMAN_SECTIONS[LEFT_FOR_THE_STORY][1]
    markdown = editor.input_value()
    assert markdown.count(placeholder) == 1
    editor.fill(
        markdown.replace(
            placeholder,
            "Scores drift when the applicant mix changes: re-validate monthly and keep a person in the loop.",
        )
    )
    page.fill("#card-comment", "Wrote the caveats")
    page.click("#card-save")
    page.wait_for_url(f"**/models/{TRY_IT_MODEL}/versions/{candidate}/card/")
    page.click(f".breadcrumbs a[href='/models/{TRY_IT_MODEL}/versions/{candidate}/']")
    assert "100% complete" in page.inner_text("#model-card")
    page.click(f"#version-promotions a[href='/promotions/{promotion_id}/']")
    page.click("button:has-text('Re-run gates')")
    assert wait_for_state(page, "awaiting_approval", "blocked") == "awaiting_approval"
    log_out(page)


def auditor_reads_the_story_and_downloads_the_evidence(page, base, candidate, holder):
    """5. Auditor (README step 4, not timed): the log shows the story newest first; the evidence pack is built
    by the worker while the page shows its progress, then downloaded."""
    log_in(page, base, "audrey")
    page.click("a[href='/audit/']")
    seqs = [int(t) for t in page.locator(".audit-table tbody tr td:first-child").all_inner_texts()]
    assert seqs == sorted(seqs, reverse=True) and "promotion.applied" in page.inner_text(".audit-table")
    page.fill("input[name=actor]", "ann")
    page.fill("input[name=action]", "promotion.")
    page.click("form.filters button[type=submit]")
    assert "promotion.signed" in page.inner_text(".audit-table")
    page.click("a[href='/evidence/']")
    page.select_option("#evidence-target", "production")
    page.click("#evidence-preview")
    contents = page.inner_text("#evidence-contents")
    assert f"v{candidate}" in contents and f"v{holder}" in contents
    page.click("#evidence-build")
    page.wait_for_selector("#evidence-download", timeout=60_000)
    with page.expect_download() as download:
        page.click("#evidence-download")
    assert download.value.suggested_filename.startswith("evidence-production-")
