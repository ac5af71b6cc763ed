"""Redis restarted during a burst of 100 promotion requests filed through the API with a token, concurrently,
while two workers run their gates: none lost, none doubled. The broker is a private `redis-server` (never the
shared one) without persistence, killed with SIGKILL mid-burst and started again: every message it held is gone,
so what the product re-drives (the beat sweep of lost gate runs, run here from the test) is what is proved."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests as http

from approvals.models import Promotion
from approvals.workflow import gating
from audit.models import AuditEvent
from tests.support.faults import RedisServer, point_celery_at, repeats, wait_for
from tests.support.governance import seed_model
from tests.support.tokens import issue_key

pytestmark = [pytest.mark.celery]
BURST = 100
MODEL = "burst"


@pytest.fixture
def private_redis(tmp_path, settings, monkeypatch):
    """A private Redis for this test: the workers (started later) and this process's Celery app use it."""
    from registry_ui.celery import app

    before = app.conf.broker_url
    server = RedisServer(tmp_path / "redis").start()
    monkeypatch.setenv("REDIS_URL", server.url)
    settings.CELERY_BROKER_URL = server.url
    point_celery_at(server.url)
    yield server
    point_celery_at(before)
    server.kill()


class Burst:
    """The client side: each request retried (a fresh attempt after a 5xx or a refused connection) until the API
    answers 201 or 4xx. `answers[version]` lists every status it got."""

    def __init__(self, url: str, key: str):
        self.url, self.key = url + "/api/v1/promotions/", key
        self.answers: dict[int, list[int]] = {}
        self.ids: dict[int, int] = {}
        self.lock = threading.Lock()

    def done(self) -> int:
        with self.lock:
            return sum(1 for codes in self.answers.values() if codes and codes[-1] < 500)

    def file(self, version: int) -> None:
        body = {"model": MODEL, "version": version, "target": "staging", "justification": "burst"}
        for _ in range(30):
            try:
                r = http.post(self.url, json=body, headers={"Authorization": f"Token {self.key}"}, timeout=30)
                code, data = r.status_code, r.json()
            except (http.RequestException, ValueError):
                code, data = 599, {}
            with self.lock:
                self.answers.setdefault(version, []).append(code)
                if code < 500:
                    self.ids[version] = data.get("id") or data.get("promotion_id")
                    return
            time.sleep(0.2)


def test_a_redis_restart_during_a_burst_of_100_requests_loses_and_doubles_none(
    private_redis, policy_file, role_groups, make_user, settings, celery_workers, live_server, fault_table
):
    settings.GATE_SWEEP_SECONDS = 2
    seed_model(MODEL, tuple(range(1, BURST + 1)))
    burst = Burst(live_server.url, issue_key(make_user("rita", "ml-engineers")))
    workers = [celery_workers(), celery_workers()]

    down: list[int] = []

    def restart() -> None:
        wait_for(lambda: burst.done() >= BURST // 4, 60, "a quarter of the burst answered")
        private_redis.kill()
        answered = burst.done()
        try:  # down until ten more requests were answered (or three seconds passed)
            wait_for(lambda: burst.done() >= answered + 10, 3, "requests answered while Redis is down")
        except AssertionError:
            pass
        down.append(burst.done() - answered)
        private_redis.start()

    with ThreadPoolExecutor(max_workers=9) as pool:
        restarter = pool.submit(restart)
        list(pool.map(burst.file, range(1, BURST + 1)))
        restarter.result()

    promotions = Promotion.objects.filter(model__name=MODEL)
    resent: set[int] = set()

    def beat_and_watch() -> None:
        assert all(w.poll() is None for w in workers), "a worker exited when Redis went away"
        resent.update(gating.sweep_gates())

    wait_for(
        lambda: not promotions.filter(state="checking").exists(), 60, "every gate run", every=beat_and_watch
    )

    per_version = list(promotions.values_list("version__version", flat=True))
    acknowledged = {v for v, codes in burst.answers.items() if 201 in codes}
    actions = list(
        AuditEvent.objects.filter(object_type="promotion", object_id__in=[str(pk) for pk in promotions.values_list("pk", flat=True)])
        .values_list("object_id", "action")
    )  # fmt: skip
    evaluated = [pk for pk, action in actions if action == "promotion.gates_evaluated"]
    decided = [pk for pk, action in actions if action == "promotion.awaiting_approval"]
    gated = set(promotions.filter(state="awaiting_approval").values_list("version__version", flat=True))
    row = fault_table(
        "Redis restarted during 100 promotion requests",
        BURST,
        lost=len(acknowledged - set(per_version)) + len(acknowledged - gated),
        duplicated=repeats(per_version) + repeats(evaluated) + repeats(decided),
    )
    assert down and down[0] > 0, "no request was answered while Redis was down"
    assert resent, "no gate run was lost with Redis: the restart proved nothing"
    assert (row.lost, row.duplicated) == (0, 0)
    # Clean for the client too: every request ends 201 (none refused while the broker is down) ...
    assert acknowledged == set(range(1, BURST + 1)), {v: c for v, c in burst.answers.items() if 201 not in c}
    # ... answered once: no 5xx for a request that had in fact been recorded (a retry would then see a 409).
    assert {v: c for v, c in burst.answers.items() if c != [201]} == {}
