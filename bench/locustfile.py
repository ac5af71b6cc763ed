"""The locust users of `bench/load.py` (run by it: `locust -f bench/locustfile.py --headless ...`).

Three kinds of people, each logged in through the login form (a session) like a browser:
- browsers (auditors) read: model lists, model and version pages, comparisons, lineage pages (a version's, a
  model's, and the ≈ 520-node graph downstream of the shared dataset), the dashboard, the promotions list and
  the read API;
- requesters (ml-engineers) browse too and file promotions through the API (as a pipeline does), each on real
  models of its own, one open promotion per model at a time, alternating the model's versions on the bench
  target, and follow each one until it is applied;
- approvers browse too and sign in pairs (the target's quorum is two): pair p signs the promotions of
  requester p's models, found in their `awaiting_me` list; each opens the promotion's page, then signs through
  the API with their password (re-authentication). Signer ≠ requester ≠ the versions' MLflow authors.

Reads the plan `bench/load.py` wrote (`LOAD_PLAN`), writes every request's name, time and outcome to
`LOAD_SAMPLES` when the test stops. Imports nothing of the app (locust's gevent patches this process).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from urllib.parse import quote, urlencode

from locust import FastHttpUser, between, events, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read()) if os.environ.get("LOAD_PLAN") else {}
THINK = tuple(float(x) for x in os.environ.get("LOAD_THINK", "1,3").split(","))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FINAL = {"applied", "rejected", "cancelled"}
SAMPLES: list[list] = []


@events.request.add_listener
def _record(request_type, name, response_time, exception, start_time=None, **kwargs):
    failure = None if exception is None else str(exception)[:300]
    SAMPLES.append([name, request_type, round(response_time, 2), failure, start_time])


@events.test_stop.add_listener
def _dump(**kwargs):
    if os.environ.get("LOAD_SAMPLES"):
        with open(os.environ["LOAD_SAMPLES"], "w") as out:
            json.dump(SAMPLES, out)


def _q(name: str) -> str:
    return quote(name, safe="")


class Person(FastHttpUser):
    """Logs in on start; browses the mirror (the tasks every kind of person runs)."""

    abstract = True
    wait_time = between(*THINK)
    kind = ""
    counter = itertools.count()

    def on_start(self) -> None:
        self.index = next(type(self).counter)
        self.me = PLAN["people"][self.kind][self.index]
        self.api = {"Authorization": f"Token {self.me['token']}"} if self.me["token"] else {}
        page = self.client.get("/accounts/login/", name="login form")
        token = CSRF.search(page.text or "")
        with self.client.post(
            "/accounts/login/",
            data=urlencode(
                {
                    "username": self.me["username"],
                    "password": PLAN["password"],
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                }
            ),  # fmt: skip
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302:
                r.failure(f"login answered {r.status_code}")

    # --- what everyone reads ---------------------------------------------------------------------------
    def _model(self) -> tuple[str, int]:
        return random.choice(PLAN["models"])

    def _version(self) -> tuple[str, int]:
        name, count = self._model()
        return name, random.randint(1, count)

    @task(3)
    def model_list(self) -> None:
        pages = max(1, len(PLAN["models"]) // 50)
        query = random.choice(
            [{"page": random.randint(1, pages)}, {"sort": "-updated"}, {"sort": "-versions", "page": 2},
             {"q": f"model-{random.randint(0, 99):02d}"}, {"alias": "champion"}]
        )  # fmt: skip
        self.client.get(f"/models/?{urlencode(query)}", name="page: model list")

    @task(4)
    def model_page(self) -> None:
        name, count = self._model()
        suffix = "?page=2" if count > 50 and random.random() < 0.2 else ""
        self.client.get(f"/models/{_q(name)}/{suffix}", name="page: model")

    @task(4)
    def version_page(self) -> None:
        name, number = self._version()
        self.client.get(f"/models/{_q(name)}/versions/{number}/", name="page: version")

    @task(2)
    def compare(self) -> None:
        name, count = self._model()
        chosen = sorted(random.sample(range(1, count + 1), min(count, random.randint(2, 5))))
        query = urlencode({"model": name, "versions": ",".join(map(str, chosen))})
        self.client.get(f"/compare/?{query}", name="page: compare")

    @task(1)
    def floor(self) -> None:
        """The health check: no database, no template — the time any answer takes on this machine now."""
        self.client.get("/healthz", name="floor: healthz")

    @task(1)
    def dashboard(self) -> None:
        self.client.get("/", name="page: dashboard")

    @task(1)
    def promotions(self) -> None:
        self.client.get("/promotions/", name="page: promotions")

    @task(2)
    def api_models(self) -> None:
        pages = max(1, len(PLAN["models"]) // 50)
        self.client.get(
            f"/api/v1/models/?page={random.randint(1, pages)}", name="api: models", headers=self.api
        )

    @task(2)
    def api_versions(self) -> None:
        name, _ = self._model()
        self.client.get(f"/api/v1/models/{_q(name)}/versions/", name="api: versions", headers=self.api)

    @task(1)
    def api_version(self) -> None:
        name, number = self._version()
        self.client.get(
            f"/api/v1/models/{_q(name)}/versions/{number}/", name="api: version", headers=self.api
        )

    @task(2)
    def version_lineage(self) -> None:
        name, number = random.choice(PLAN["lineage_versions"]) if random.random() < 0.5 else self._version()
        self.client.get(f"/lineage/{_q(name)}/{number}/", name="lineage: version page")

    @task(1)
    def model_lineage(self) -> None:
        name = random.choice(PLAN["lineage_models"]) if random.random() < 0.5 else self._model()[0]
        self.client.get(f"/models/{_q(name)}/lineage/", name="lineage: model page")

    @task(1)
    def dataset_lineage(self) -> None:
        digest = urlencode({"digest": PLAN["shared_digest"]})
        self.client.get(f"/lineage/dataset/?{digest}", name="lineage: dataset page (500 nodes)")

    @task(1)
    def api_lineage(self) -> None:
        name, number = random.choice(PLAN["lineage_versions"])
        self.client.get(
            f"/api/v1/lineage/{_q(name)}/{number}/", name="lineage: api version", headers=self.api
        )


class Browser(Person):
    kind = "browsers"
    fixed_count = int(os.environ.get("LOAD_BROWSERS", "0"))
    counter = itertools.count()


class Requester(Person):
    """Files promotions on its own real models and follows them to the end."""

    kind = "requesters"
    fixed_count = int(os.environ.get("LOAD_REQUESTERS", "0"))
    counter = itertools.count()

    def on_start(self) -> None:
        super().on_start()
        per = len(PLAN["real_models"]) // len(PLAN["people"]["requesters"])
        mine = PLAN["real_models"][self.index * per : (self.index + 1) * per]
        self.open: dict[str, int | None] = dict.fromkeys(mine)
        self.next_version = dict.fromkeys(mine, 1)
        self.turn = itertools.cycle(mine)

    @task(6)
    def file_or_follow(self) -> None:
        name = next(self.turn)
        pk = self.open[name]
        if pk is not None:
            r = self.client.get(f"/api/v1/promotions/{pk}/", name="api: promotion", headers=self.api)
            if r.status_code == 200 and r.json()["state"] in FINAL:
                self.open[name] = None
            return
        version = self.next_version[name]
        body = {"model": name, "version": version, "target": PLAN["target"], "justification": "load bench"}
        with self.client.post(
            "/api/v1/promotions/",
            json=body,
            headers=self.api,
            name="write: file promotion",
            catch_response=True,
        ) as r:
            if r.status_code == 201:
                self.open[name] = r.json()["id"]
                self.next_version[name] = version % PLAN["real_versions"] + 1
            else:
                r.failure(f"{r.status_code}: {r.error or (r.text or '')[:200]}")


class Approver(Person):
    """Signs the promotions of its pair's requester: opens the promotion page, then signs through the API."""

    kind = "signers"
    fixed_count = int(os.environ.get("LOAD_APPROVERS", "0"))
    counter = itertools.count()

    def on_start(self) -> None:
        super().on_start()
        requesters = len(PLAN["people"]["requesters"])
        per = len(PLAN["real_models"]) // requesters
        pair = self.index // 2
        self.mine = set(PLAN["real_models"][pair * per : (pair + 1) * per])

    @task(6)
    def sign(self) -> None:
        r = self.client.get(
            "/api/v1/promotions/?awaiting_me=true&page_size=100",
            name="api: promotions awaiting me",
            headers=self.api,
        )
        if r.status_code != 200:
            return
        waiting = [p for p in r.json()["results"] if p["model"] in self.mine]
        if not waiting:
            return
        pk = waiting[-1]["id"]  # the oldest first
        self.client.get(f"/promotions/{pk}/", name="page: promotion")
        body = {"password": PLAN["password"], "meaning": "approval", "comment": "load bench"}
        with self.client.post(
            f"/api/v1/promotions/{pk}/approve",
            json=body,
            headers=self.api,
            name="write: sign",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.error or (r.text or '')[:200]}")
