"""Issue 13: the example pipelines in docs/pipelines/ run: their `registry ...` lines, in order, against a live
server, while a reviewer signs the promotion they wait for."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

import pytest
import yaml

from approvals.models import Promotion
from approvals.workflow import signatures
from tests.support import cli
from tests.support.governance import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "pipelines"
VARIABLES = {
    "MODEL_NAME": "churn", "MODEL_VERSION": "2", "BASELINE_VERSION": "1", "GITHUB_RUN_ID": "7",
    "CI_PIPELINE_ID": "7",
}  # fmt: skip


def github_lines(doc: dict) -> list[str]:
    steps = [step for job in doc["jobs"].values() for step in job["steps"]]
    return [ln.strip() for step in steps for ln in str(step.get("run", "")).splitlines()]


def gitlab_lines(doc: dict) -> list[str]:
    jobs = [job for job in doc.values() if isinstance(job, dict) and "script" in job]
    return [ln.strip() for job in jobs for ln in job["script"]]


def registry_commands(lines: list[str]) -> list[list[str]]:
    """The arguments of each `registry ...` line, the pipeline's variables expanded as the shell would."""
    out = []
    for ln in lines:
        if ln.startswith("registry "):
            args = shlex.split(ln)[1:]
            for name, value in VARIABLES.items():
                args = [a.replace(f"${name}", value) for a in args]
            out.append(args)
    return out


def _sign_when_waiting(reviewer, done: threading.Event) -> None:
    """A reviewer signs each promotion the pipeline waits for (in another thread, as a person would)."""
    from django.db import connection  # this thread's own connection, closed when it ends

    try:
        while not done.is_set():
            for p in Promotion.objects.filter(state="awaiting_approval"):
                signatures.approval_grant(promotion_id=p.pk, user=reviewer, password=PASSWORD)
            done.wait(0.2)
    finally:
        connection.close()


@pytest.mark.parametrize(
    "name, extract", [("github-actions.yml", github_lines), ("gitlab-ci.yml", gitlab_lines)]
)
def test_the_example_pipeline_runs_to_an_applied_promotion(served, pipeline_env, tmp_path, name, extract):
    commands = registry_commands(extract(yaml.safe_load((DOCS / name).read_text())))
    assert [c[0] for c in commands] == ["versions", "compare", "promote", "card", "audit"]
    env = pipeline_env()
    done = threading.Event()
    signer = threading.Thread(target=_sign_when_waiting, args=(served["rev"], done))
    signer.start()
    try:
        for args in commands:
            res = cli.run(args, env, timeout=120, cwd=tmp_path)
            assert res.returncode == 0, (args, res.stdout, res.stderr)
    finally:
        done.set()
        signer.join(10)
    assert Promotion.objects.get().state == "applied"
    assert (tmp_path / "model-card.pdf").read_bytes().startswith(b"%PDF")
    assert served["fake"].writes == [("alias", "churn", "staging", 2)]
