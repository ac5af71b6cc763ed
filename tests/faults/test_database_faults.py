"""The database connection cut in the middle of a write request: the client gets a clean 503 (JSON under /api/,
the styled page elsewhere), nothing is half-written, and the same request sent again lands exactly once.

The cut lands between the statements of the write, deterministically: the test holds the audit chain's advisory
lock, so the request's transaction stops at its audit append, after its own rows were written; the test finds
that backend waiting on the lock and terminates it (pg_terminate_backend), as a database restart or a dropped
connection would. Requests go over real HTTP to the live server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from approvals.models import Approval, OutboxItem, Promotion
from approvals.workflow import gating
from audit.models import AuditEvent
from audit.services import ADVISORY_LOCK_KEY
from audit.verification import verify
from cards.models import CardRevision
from tests.support.faults import wait_for
from tests.support.governance import PASSWORD, seed_model
from tests.support.tokens import issue_key

pytestmark = pytest.mark.postgres_only  # pg_terminate_backend and the chain's advisory lock

WAITING_ON_THE_CHAIN = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _connect(**options) -> psycopg.Connection:
    from django.db import connection

    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None, host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432, **options,
    )  # fmt: skip


def _closing_connections(send):
    """`send` in a thread of its own, whose database connection (a send may read a row first) is closed after."""
    from django.db import connections

    try:
        return send()
    finally:
        connections.close_all()


def _cut_mid_write(send) -> requests.Response:
    """Hold the audit chain's lock, send the request, and once its backend waits on the lock (its own rows written,
    uncommitted) terminate that backend; then let the chain go and return the answer."""
    with _connect(autocommit=True) as watcher, ThreadPoolExecutor(1) as pool:
        with _connect() as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
            answer = pool.submit(_closing_connections, send)
            pids = wait_for(
                lambda: [row[0] for row in watcher.execute(WAITING_ON_THE_CHAIN)] or answer.done(),
                20,
                "the request to reach its audit append",
            )
            assert not answer.done(), answer.result().text[:500]
            for pid in pids:
                watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
            holder.rollback()
        return answer.result(timeout=30)


def _clean_503(response: requests.Response, *, page: bool = False) -> bool:
    if response.status_code != 503 or response.headers.get("Retry-After") != "5":
        return False
    if page:
        return (
            response.headers["Content-Type"].startswith("text/html") and "nothing was saved" in response.text
        )
    return (
        response.headers["Content-Type"].startswith("application/json")
        and "nothing was saved" in (response.json()["detail"])
    )


def _state() -> dict:
    """What a write could leave behind: its rows and its audit events."""
    return {
        "promotions": Promotion.objects.count(),
        "approvals": Approval.objects.count(),
        "outbox": OutboxItem.objects.count(),
        "card_revisions": CardRevision.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def _login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=30)
    answer = session.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=30,
    )
    assert answer.ok and "sessionid" in session.cookies, answer.status_code
    return session


def test_a_database_connection_cut_mid_write_is_a_clean_503_and_nothing_is_half_written(
    live_server, policy_file, role_groups, make_user, fast_hashes, no_task_sends, fault_table, monkeypatch
):
    from django.db import connections

    # The live server answers each request in a new thread: persistent connections would outlive them.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    base = live_server.url
    requester, approver = make_user("rita", "ml-engineers"), make_user("ann", "approvers")
    seed_model("churn", (1, 2, 3), aliases={"production": 1})
    as_requester = {"Authorization": f"Token {issue_key(requester)}"}
    as_approver = {"Authorization": f"Token {issue_key(approver)}"}
    card_url = f"{base}/api/v1/models/churn/versions/2/card"
    browser = _login(base, "rita")
    edit_page = f"{base}/models/churn/versions/2/card/edit/"
    assert browser.get(edit_page, timeout=30).ok  # the card's first revision is drafted here, before the cut

    def file_request():
        body = {"model": "churn", "version": 2, "target": "staging", "justification": "better recall"}
        return requests.post(f"{base}/api/v1/promotions/", json=body, headers=as_requester, timeout=60)

    def sign():
        promotion = Promotion.objects.get()
        return requests.post(
            f"{base}/api/v1/promotions/{promotion.pk}/approve",
            json={"password": PASSWORD},
            headers=as_approver,
            timeout=60,
        )

    def edit_card_api():
        etag = requests.get(card_url, headers=as_requester, timeout=30).headers["ETag"]
        headers = {**as_requester, "If-Match": etag}
        return requests.put(
            card_url, json={"markdown": "# churn v2\nfrom the API"}, headers=headers, timeout=60
        )

    def edit_card_page():
        revision = CardRevision.objects.filter(version__version=2).order_by("-revision").first().revision
        form = {
            "markdown": "# churn v2\nfrom the page",
            "comment": "",
            "base_revision": str(revision),
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        }
        return browser.post(edit_page, data=form, headers={"Referer": edit_page}, timeout=60)

    writes = [
        ("file a promotion request", file_request, 201, False),
        ("sign it", sign, 200, False),
        ("edit a card (API)", edit_card_api, 200, False),
        ("edit a card (page)", edit_card_page, 200, True),
    ]
    lost = duplicated = 0
    unclean = []
    for what, send, ok_status, page in writes:
        before = _state()
        answer = _cut_mid_write(send)
        if not _clean_503(answer, page=page):
            unclean.append((what, answer.status_code, answer.text[:300]))
        duplicated += (
            _state() != before
        )  # anything left behind by the cut request would double with the retry
        retried = send()
        lost += retried.status_code != ok_status
        if what == "sign it":  # the retry reached the quorum: approved, its apply queued, once
            lost += Promotion.objects.get().state != "approved"
            duplicated += OutboxItem.objects.count() > 1 or Approval.objects.count() > 1
        if what == "file a promotion request":
            duplicated += Promotion.objects.count() > 1
            gating.run_gates(promotion_id=Promotion.objects.get().pk)  # what the worker does next
    fault_table("database connection cut mid-request", len(writes), lost, duplicated)
    assert (lost, duplicated) == (0, 0)
    assert unclean == []
    assert verify().ok
