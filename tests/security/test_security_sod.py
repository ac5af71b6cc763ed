"""Trust holes: segregation of duties on identities MLflow fixed at creation (not on re-taggable tags), a
webhook delivery marked seen only once stored, and private embedded state files (the card export that loads
nothing from outside: test_security_card_export.py)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection

from mirror.models import SyncRun, WebhookDelivery
from tests.support.governance import approve, request_and_check
from tests.support.webhooks import post_webhook

WEBHOOK_SECRET = "sod-test-secret"


# --- webhook: a delivery is seen only when it was stored ------------------------------------------------
def _deliver(client, body: bytes, *, delivery_id: str):
    return post_webhook(client, body, secret=WEBHOOK_SECRET, delivery_id=delivery_id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "unstorable",
    [b'{"score": NaN}', b'{"score": Infinity}', b'{"score": -Infinity}', b'{"note": "a\\u0000b"}'],
    ids=["nan", "inf", "-inf", "nul"],
)
def test_webhook_body_with_nan_is_not_marked_seen_and_its_retry_is_processed(client, settings, unstorable):
    settings.MLFLOW_WEBHOOK_SECRET = WEBHOOK_SECRET
    if b"u0000" in unstorable and connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's jsonb refuses \\u0000; SQLite stores it (then the id is seen)")
    delivery_id = str(uuid.uuid4())
    bad = (
        b'{"entity": "model_version", "action": "created", "data": {"name": "churn", "version": "3",'
        b' "tags": ' + unstorable + b"}}"
    )
    first = _deliver(client, bad, delivery_id=delivery_id)
    assert first.status_code == 400, first.content
    assert first.json().get("status") != "duplicate"
    assert not WebhookDelivery.objects.filter(delivery_id=delivery_id).exists()
    assert not SyncRun.objects.exists()

    good = json.dumps(
        {"entity": "model_version", "action": "created", "data": {"name": "churn", "version": "3"}}
    ).encode()
    retry = _deliver(client, good, delivery_id=delivery_id)
    assert retry.status_code == 200, retry.content
    assert retry.json() == {"status": "accepted", "delivery_id": delivery_id}
    delivery = WebhookDelivery.objects.get(delivery_id=delivery_id)
    assert delivery.sync_run is not None and delivery.sync_run.model_name == "churn"


# --- embedded state: owner-only files in an owner-only directory ----------------------------------------
EMBEDDED_PROBE = """
import json, os, stat, sys
import django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:  # WAL mode (settings): the -wal and -shm files exist while open
    cursor.execute("CREATE TABLE probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
from registry_ui.celery import app
with app.connection_for_write() as broker:
    broker.SimpleQueue("probe").put({"x": 1})  # kombu's SQLAlchemy transport writes the broker file
var = settings.VAR_DIR
modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [var, *var.iterdir()] if not p.is_dir() or p == var}
json.dump(modes, sys.stdout)
"""


@pytest.mark.postgres_pass_only  # a subprocess on its own VAR_DIR: the test database plays no part
def test_embedded_database_and_broker_files_are_owner_only(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update(VAR_DIR=str(tmp_path / "var"), STATIC_ROOT=str(tmp_path / "static"))
    env["DJANGO_SETTINGS_MODULE"] = "registry_ui.settings"
    result = subprocess.run(
        [sys.executable, "-c", EMBEDDED_PROBE],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: files 0644, directories 0755
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modes = json.loads(result.stdout)
    assert modes.pop("var") == 0o700
    assert {"registry.sqlite3", "registry.sqlite3-wal", "celery-broker.sqlite3"} <= set(modes), modes
    assert {name: oct(mode) for name, mode in modes.items() if mode != 0o600} == {}


# --- segregation of duties: the author is every identity MLflow recorded, first seen --------------------
def _mirror(*, run_user_id="alice", mlflow_user="alice", version_user_id=None, name="churn"):
    """One model, one version (MLflow without auth: version user_id empty), its source run."""
    import dataclasses

    from mirror.sync import apply_snapshot
    from tests import factories as f

    mv = f.mlflow_version(name, 1, user_id=version_user_id, tags={"data_validated": "true"})
    run = dataclasses.replace(
        f.mlflow_run(mv.run_id, metrics={"acc": 0.9}, tags={"mlflow.user": mlflow_user}), user_id=run_user_id
    )
    apply_snapshot(f.snapshot([f.mlflow_model(name, tags={"primary_metric": "acc"})], [mv], {mv.run_id: run}))
    return mv, run


def _retag(mv, run, **changes):
    """What MLflow reports after someone with write access rewrote the run's mlflow.user tag (or more)."""
    import dataclasses

    from mirror.sync import apply_snapshot
    from tests import factories as f

    if "mlflow_user" in changes:
        run = dataclasses.replace(run, tags={**run.tags, "mlflow.user": changes.pop("mlflow_user")})
    if "run_user_id" in changes:
        run = dataclasses.replace(run, user_id=changes.pop("run_user_id"))
    if "version_user_id" in changes:
        mv = dataclasses.replace(mv, user_id=changes.pop("version_user_id"))
    assert not changes
    return apply_snapshot(
        f.snapshot([f.mlflow_model(mv.name, tags={"primary_metric": "acc"})], [mv], {mv.run_id: run})
    )


def _signed_version(name="churn"):
    from django.utils import timezone

    from mirror.models import ModelVersion

    ModelVersion.objects.filter(model__name=name).update(
        signature={"inputs": [{"name": "x", "type": "double"}], "outputs": []},
        artifacts_read_at=timezone.now(),
    )


@pytest.fixture
def sod(db, policy_file, people, make_user):
    people["alice"] = make_user("alice", "approvers")
    people["carol"] = make_user("carol", "approvers")
    return people


def test_author_cannot_approve_own_version_after_retagging_mlflow_user(sod):
    from approvals.models import Approval
    from common.errors import NotAllowed

    mv, run = _mirror()
    _signed_version()
    p = request_and_check(sod["requester"], version=1, target="staging")
    assert p.state == "awaiting_approval"

    result = _retag(mv, run, mlflow_user="carol")  # alice re-tags her run in MLflow, the mirror syncs it
    assert len(result.identity_changes) == 1
    with pytest.raises(NotAllowed, match="created or trained"):
        approve(p, sod["alice"])
    assert not Approval.objects.filter(promotion=p).exists()
    assert approve(p, sod["carol"]).state == "approved"  # carol is named only by the rewritten tag


def test_source_run_user_id_blocks_signing_whatever_the_tag_says(sod):
    from common.errors import NotAllowed

    _mirror(run_user_id="alice", mlflow_user="carol")  # tagged as someone else from the start
    _signed_version()
    p = request_and_check(sod["requester"], version=1, target="staging")
    for author in ("alice", "carol"):  # run user_id, first-seen mlflow.user
        with pytest.raises(NotAllowed, match="created or trained"):
            approve(p, sod[author])


def test_version_user_id_blocks_signing_and_is_kept_as_first_seen(sod):
    from common.errors import NotAllowed
    from mirror.models import IdentityChange, ModelVersion

    mv, run = _mirror(run_user_id="bob", mlflow_user="bob", version_user_id="alice")
    _signed_version()
    p = request_and_check(sod["requester"], version=1, target="staging")
    _retag(mv, run, version_user_id="mallory")
    assert ModelVersion.objects.get().creator == "alice"
    change = IdentityChange.objects.get()
    assert (change.field, change.version_id, change.first_value, change.reported_value) == (
        "version.user_id",
        ModelVersion.objects.get().pk,
        "alice",
        "mallory",
    )
    with pytest.raises(NotAllowed, match="created or trained"):
        approve(p, sod["alice"])


def test_awaiting_me_leaves_out_a_version_its_author_retagged(sod):
    from approvals.selectors import awaiting_for

    mv, run = _mirror()
    _signed_version()
    p = request_and_check(sod["requester"], version=1, target="staging")
    _retag(mv, run, mlflow_user="carol")
    assert list(awaiting_for(sod["alice"])) == []
    assert list(awaiting_for(sod["carol"])) == [p]


def test_a_retagged_identity_is_kept_recorded_once_audited_and_resolved_when_restored(db):
    from audit.models import AuditEvent
    from mirror.models import IdentityChange, ModelVersion, Run

    mv, run = _mirror()
    assert _retag(mv, run).identity_changes == []  # an unchanged sync records nothing
    assert not AuditEvent.objects.filter(action__startswith="identity.").exists()

    _retag(mv, run, mlflow_user="carol", run_user_id="carol")
    row = Run.objects.get()
    assert (row.first_mlflow_user, row.user_id, row.mlflow_user) == ("alice", "alice", "carol")
    assert ModelVersion.objects.select_related("source_run").get().authors == ["alice"]
    changes = {c.field: (c.first_value, c.reported_value) for c in IdentityChange.objects.all()}
    assert changes == {"run.mlflow.user": ("alice", "carol"), "run.user_id": ("alice", "carol")}
    events = AuditEvent.objects.filter(action="identity.changed")
    assert events.count() == 2
    assert {e.data["field"] for e in events} == {"run.mlflow.user", "run.user_id"}
    assert all(e.data["versions"] == ["churn/1"] and e.data["first"] == "alice" for e in events)

    _retag(mv, run, mlflow_user="carol", run_user_id="carol")  # the next syncs see the same: nothing new
    assert IdentityChange.objects.count() == 2 and events.count() == 2

    _retag(mv, run, mlflow_user="dave", run_user_id="carol")  # changed again: a new record supersedes
    assert IdentityChange.objects.filter(resolved_at__isnull=True).count() == 2
    assert IdentityChange.objects.filter(reported_value="dave", resolved_at__isnull=True).exists()

    _retag(mv, run)  # MLflow reports the first values again
    assert not IdentityChange.objects.filter(resolved_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="identity.resolved").count() == 3


def test_pages_show_one_author_and_the_identity_change(db, client, make_user):
    client.force_login(make_user("viewer"))
    mv, run = _mirror(version_user_id=None)  # MLflow without auth: the version's own user_id is empty
    version_page = client.get("/models/churn/versions/1/").content.decode()
    model_page = client.get("/models/churn/").content.decode()
    assert "<dt>Author</dt><dd>alice</dd>" in version_page
    assert "<td>alice</td>" in model_page
    assert "identity-change" not in version_page

    _retag(mv, run, mlflow_user="carol")
    for url in ("/models/churn/versions/1/", "/"):
        page = client.get(url).content.decode()
        assert "identity-change" in page and "carol" in page, url
    assert "<dt>Author</dt><dd>alice</dd>" in client.get("/models/churn/versions/1/").content.decode()
    api = client.get("/api/v1/models/churn/versions/1/").json()
    assert (api["creator"], api["authors"]) == (None, ["alice"])


@pytest.mark.mlflow
def test_retagged_run_in_a_real_mlflow_cannot_make_its_author_a_signer(sod, mlflow_uri, mlflow_client):
    from approvals.models import Approval
    from common.errors import NotAllowed
    from mirror import gateway
    from mirror.models import IdentityChange
    from mirror.sync import apply_snapshot

    name = f"sod-{uuid.uuid4().hex[:8]}"
    experiment = mlflow_client.create_experiment(f"exp-{name}")
    run = mlflow_client.create_run(experiment, tags={"mlflow.user": "alice"})  # user_id alice, fixed
    mlflow_client.set_terminated(run.info.run_id)
    mlflow_client.create_registered_model(name)
    mlflow_client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    apply_snapshot(gateway.read_model(name))
    _signed_version(name)
    p = request_and_check(sod["requester"], model=name, version=1, target="staging")
    assert p.state == "awaiting_approval"

    mlflow_client.set_tag(run.info.run_id, "mlflow.user", "carol")
    assert mlflow_client.get_run(run.info.run_id).data.tags["mlflow.user"] == "carol"
    apply_snapshot(gateway.read_model(name))
    with pytest.raises(NotAllowed, match="created or trained"):
        approve(p, sod["alice"])
    assert not Approval.objects.filter(promotion=p).exists()
    change = IdentityChange.objects.get(run__run_id=run.info.run_id)
    assert (change.field, change.first_value, change.reported_value) == ("run.mlflow.user", "alice", "carol")


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_first_seen_mlflow_user_from_the_current_tag():
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    before, after = [("registry_ui", "0002_role_groups")], [("registry_ui", "0003_author_identities")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old_run = executor.loader.project_state(before).apps.get_model("registry_ui", "Run")
        old_run.objects.create(run_id="tagged", tags={"mlflow.user": "alice"}, synced_at=timezone.now())
        old_run.objects.create(run_id="untagged", tags={}, synced_at=timezone.now())
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new_run = executor.loader.project_state(after).apps.get_model("registry_ui", "Run")
        values = dict(new_run.objects.values_list("run_id", "first_mlflow_user"))
    finally:  # leave the schema as every other test expects it
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert values == {"tagged": "alice", "untagged": ""}
