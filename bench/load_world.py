"""The world `bench/load.py` runs against: a small real MLflow registry (the models that get promoted), the
rest of the mirror written in bulk, the people (users, groups, API tokens) and the plan the locust users read.

Real: ``real_models`` models × ``REAL_VERSIONS`` versions created in a real ``mlflow server`` (runs with metrics
and params, `bench._support.populate`) and brought into the mirror by a real full sync. Promotions are filed on
these only, so every apply really moves an alias in MLflow through the outbox.
Bulk: every other model, version and run is a mirror row written with ``bulk_create`` (what a sync would write:
runs with 10 metrics, 10 params, tags and dataset inputs, versions READY, the models' denormalised counts);
among them a lineage cluster shaped like `bench/lineage.py`'s (one shared training dataset feeding 100 runs,
children of 10 parent runs, each with its commit and two evaluation datasets: a ≈ 520-node dataset graph).
Populating 10,000 versions through MLflow's REST API takes ~25 min on this machine; the pages read the mirror
only, so rows written in bulk are what a sync would have left there.
"""

from __future__ import annotations

import secrets
import zlib
from datetime import timedelta

from bench._support import note, populate

REAL_VERSIONS = 3  # a requester alternates a real model's versions on the bench target
REAL_MODELS_PER_REQUESTER = 2
TARGET = "load"
SHARED = "sha256-load-shared-training-data"
LINEAGE_RUNS = 100
PARENTS = 10
METRICS = 10
PARAMS = 10

POLICY = f"""
version: 1
targets:
  {TARGET}:
    mlflow: {{alias: {TARGET}}}
    approvals: 2
    approver_groups: [approvers]
    gates:
      - version_ready
      - metric_threshold: {{metric: m0, min: 0}}
"""


def roles_for(users: int) -> dict[str, int]:
    """How many locust users of each kind: a tenth file promotions, twice as many sign them (in pairs: the
    quorum is two), the rest browse."""
    requesters = max(1, users // 10)
    approvers = 2 * requesters
    return {"requesters": requesters, "signers": approvers, "browsers": max(0, users - 3 * requesters)}


def build(uri: str, *, models: int, versions: int, users: int) -> dict:
    """Populate MLflow and the mirror, create the people; returns the plan the locust users read."""
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    counts = roles_for(users)
    real = counts["requesters"] * REAL_MODELS_PER_REQUESTER
    if models <= real or versions - real * REAL_VERSIONS < models - real:
        raise SystemExit(f"--models {models} --versions {versions}: too few beside {real} real models")
    real_names = populate(uri, models=real, versions=REAL_VERSIONS, prefix="load-real")
    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    note(f"real registry synced: {run.status}, {run.versions_read} versions of {len(real_names)} models")
    bulk = _bulk_mirror(models - real, versions - real * REAL_VERSIONS)
    people = _people(counts)
    return {
        "target": TARGET,
        "real_models": real_names,
        "real_versions": REAL_VERSIONS,
        "models": bulk["models"] + [[name, REAL_VERSIONS] for name in real_names],
        "lineage_versions": bulk["lineage_versions"],
        "lineage_models": bulk["lineage_models"],
        "shared_digest": SHARED,
        **people,
    }


def _dataset(digest: str, context: str) -> dict:
    return {"name": digest, "digest": digest, "source_type": "s3", "source": f"s3://bench/{digest}",
            "context": context, "schema": "", "profile": ""}  # fmt: skip


def _bulk_mirror(models: int, versions: int) -> dict:
    """``models`` mirrored models sharing ``versions`` versions (one run each), in bulk."""
    from django.db import connection, transaction
    from django.utils import timezone

    from approvals.models import TargetHolding
    from mirror.models import ModelVersion, RegisteredModel, Run

    now = timezone.now()
    per_model = [versions // models + (1 if i < versions % models else 0) for i in range(models)]
    names = [f"load-model-{i:04d}" for i in range(models)]
    with transaction.atomic():
        parents = [
            Run(run_id=f"loadparent{p:02d}", experiment_id="1", status="FINISHED", synced_at=now)
            for p in range(PARENTS)
        ]
        Run.objects.bulk_create(parents)
        rows = [
            RegisteredModel(
                name=name,
                description=f"Bulk-written bench model {i}.",
                tags={"primary_metric": "m0", "primary_metric_goal": "maximize", "team": f"team-{i % 7}"},
                aliases={"champion": per_model[i]} if i % 3 == 0 else {},
                version_count=per_model[i],
                latest_version=per_model[i],
                creation_timestamp=now - timedelta(days=30, minutes=i),
                last_updated_timestamp=now - timedelta(minutes=i),
                synced_at=now,
            )
            for i, name in enumerate(names)
        ]
        RegisteredModel.objects.bulk_create(rows, batch_size=500)
        by_name = {m.name: m for m in RegisteredModel.objects.filter(name__in=names)}
        runs, mvs, lineage_versions = [], [], []
        index = 0
        for i, name in enumerate(names):
            model = by_name[name]
            for number in range(1, per_model[i] + 1):
                run, in_cluster = _bulk_run(index, name, now)
                runs.append(run)
                mvs.append(
                    ModelVersion(
                        model=model, version=number, status="READY", run_id=run.run_id, source_run=run,
                        source=f"runs:/{run.run_id}/model", creator=f"trainer-{i % 5}",
                        aliases=["champion"] if model.aliases.get("champion") == number else [],
                        tags={"validated": "true"} if number % 2 else {},
                        creation_timestamp=now - timedelta(minutes=index), synced_at=now,
                    )
                )  # fmt: skip
                if in_cluster:
                    lineage_versions.append([name, number])
                index += 1
        Run.objects.bulk_create(runs, batch_size=1000)
        ModelVersion.objects.bulk_create(mvs, batch_size=1000)
        lineage_models = sorted({name for name, _ in lineage_versions})
        TargetHolding.objects.bulk_create(
            TargetHolding(
                model=by_name[name], target=target, version=number, held_from=now, source="observed"
            )
            for name in lineage_models
            for target, number in (("production", 1), ("staging", 2))
        )
    with connection.cursor() as cursor:  # planner statistics, as autovacuum gathers after a sync of this size
        cursor.execute("ANALYZE")
    note(
        f"bulk mirror: {models} models, {len(mvs)} versions and runs, lineage cluster of {len(lineage_versions)}"
    )
    return {
        "models": [[name, per_model[i]] for i, name in enumerate(names)],
        "lineage_versions": lineage_versions,
        "lineage_models": lineage_models,
    }


def _bulk_run(index: int, model: str, now):
    """One version's source run; the first LINEAGE_RUNS runs form the lineage cluster around SHARED."""
    from mirror.models import Run

    in_cluster = index < LINEAGE_RUNS
    tags = {"mlflow.user": f"trainer-{index % 5}", "mlflow.source.git.repoURL": "https://git.example/load"}
    if in_cluster:
        tags["mlflow.parentRunId"] = f"loadparent{index % PARENTS:02d}"
        tags["mlflow.source.git.commit"] = f"{index:040x}"
        datasets = [_dataset(SHARED, "training"), _dataset(f"eval-{index}", "eval"),
                    _dataset(f"test-{index}", "test")]  # fmt: skip
    else:
        tags["mlflow.source.git.commit"] = f"{zlib.crc32(model.encode()):040x}"
        datasets = [_dataset(f"train-{model}", "training")]
    run = Run(
        run_id=f"load{index:06d}", run_name=f"train-{index}", experiment_id="1", status="FINISHED",
        user_id=f"trainer-{index % 5}", first_mlflow_user=f"trainer-{index % 5}",
        start_time=now - timedelta(minutes=index + 5), end_time=now - timedelta(minutes=index),
        metrics={f"m{k}": (index * 7 + k) % 100 / 100 for k in range(METRICS)},
        params={f"p{k}": str((index + k) % 13) for k in range(PARAMS)},
        tags=tags, datasets=datasets, synced_at=now,
    )  # fmt: skip
    return run, in_cluster


def _people(counts: dict[str, int]) -> dict:
    """Requesters (ml-engineers), approvers and browsers (auditors), one password (hashed once), and an API
    token for each requester and approver."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from accounts.services import token_create
    from audit import roles

    password = secrets.token_urlsafe(16)
    hashed = make_password(password)
    users = get_user_model().objects
    group_of = {"requesters": roles.ML_ENGINEERS, "signers": roles.APPROVERS, "browsers": roles.AUDITORS}
    out: dict[str, list[dict]] = {}
    for kind, count in counts.items():
        made = users.bulk_create(
            [users.model(username=f"load-{kind[:-1]}-{i}", password=hashed) for i in range(count)]
        )
        made = list(users.filter(username__in=[u.username for u in made]).order_by("id"))
        Group.objects.get(name=group_of[kind]).user_set.add(*made)
        out[kind] = [
            {
                "username": u.username,
                "token": token_create(user=u, actor="bench", name="load").key if kind != "browsers" else "",
            }
            for u in made
        ]
    note(f"people: {', '.join(f'{len(v)} {k}' for k, v in out.items())}")
    return {"password": password, "people": out}
