"""Issue 8 item 5: the audit chain's head is signed into a checkpoint outside the database when it moved (by
the command and the beat task); the API and the command report checkpoints, and audit exports and evidence
packs embed the latest."""

from __future__ import annotations

import json
import os
import stat

import pytest
from django.core.management import call_command

from audit import checkpoints
from audit.canonical import GENESIS
from audit.models import AuditEvent
from audit.verification import write_checkpoint
from tests.support.audit import append

pytestmark = pytest.mark.django_db


# --- checkpoints ---------------------------------------------------------------------------------------------
def test_a_checkpoint_is_signed_only_when_the_head_moved(audit_checkpoint_dir):
    first = write_checkpoint()
    assert (first.seq, first.head, first.keyed_from) == (0, GENESIS, 1)  # an empty chain is anchored too
    events = append(3)
    second = write_checkpoint()
    assert (second.seq, second.head) == (3, events[-1].hash)
    assert write_checkpoint() is None
    assert [cp.seq for cp in checkpoints.load().items] == [0, 3]
    assert stat.S_IMODE(os.stat(checkpoints.path()).st_mode) == 0o600
    assert checkpoints.path().parent == audit_checkpoint_dir


def test_the_checkpoint_command_and_the_beat_task_sign_the_head(settings, capsys):
    from audit.tasks import write_checkpoint_task

    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"] == {
        "task": "approvals.audit.tasks.write_checkpoint_task",
        "schedule": float(settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS),
    }
    append(2)
    assert write_checkpoint_task.apply().get() == 2
    append(1)
    call_command("audit_checkpoint")
    assert "signed seq 3" in capsys.readouterr().out
    call_command("audit_checkpoint")
    assert "unchanged" in capsys.readouterr().out


def test_api_lists_the_signed_checkpoints(api):
    append(2)
    write_checkpoint()
    body = api.get("/api/v1/audit/checkpoints").json()
    head = AuditEvent.objects.get(seq=2).hash
    assert len(body) == 1 and (body[0]["seq"], body[0]["head"], body[0]["keyed_from"]) == (2, head, 1)
    assert {"seq", "head", "at", "signature", "key_id"} <= set(body[0])
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/audit/checkpoints").status_code == 401


def test_verify_reports_the_checks_in_the_api_and_the_command(api, capsys):
    append(2)
    write_checkpoint()
    body = api.get("/api/v1/audit/verify").json()
    assert body | {"seconds": 0} == {
        "ok": True,
        "events": 2,
        "head": AuditEvent.objects.get(seq=2).hash,
        "first_bad_seq": None,
        "checkpoints_ok": True,
        "key_ok": True,
        "triggers_ok": True,
        "problem": "",
        "seconds": 0,
    }
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "key: ok" in out and "checkpoints: 1 read, ok" in out and "triggers: installed" in out


# --- exports and evidence packs embed the latest checkpoint ------------------------------------------------------
def test_the_audit_export_ends_with_the_latest_checkpoint(make_user):
    from rest_framework.test import APIClient

    append(3)
    signed = write_checkpoint()
    append(1)
    client = APIClient()
    client.force_authenticate(make_user("audrey", "auditors"))
    lines = b"".join(client.get("/api/v1/audit/export").streaming_content).decode().splitlines()
    assert json.loads(lines[-1]) == {"checkpoint": signed.public()}
    events = [json.loads(line) for line in lines[:-1]]
    assert events[signed.seq - 1]["hash"] == signed.head  # the export extends the signed head


def test_evidence_packs_and_card_exports_embed_the_latest_checkpoint(client, make_user, policy_file):
    import io
    import zipfile

    from tests.support.governance import seed_model

    seed_model("fraud", versions=(1,), aliases={"production": 1})
    client.force_login(make_user("audrey", "auditors"))
    signed = write_checkpoint()
    response = client.get("/api/v1/evidence/?target=production&formats=md,json")
    pack = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert json.loads(pack.read("audit/checkpoint.json")) == signed.public()
    assert json.loads(pack.read("index.json"))["audit"]["checkpoint"] == signed.public()
    names = pack.namelist()
    card_md = pack.read(next(n for n in names if n.startswith("fraud/v1/") and n.endswith(".md"))).decode()
    assert f"seq {signed.seq}, head {signed.head}" in card_md and signed.signature in card_md
    card_json = json.loads(
        pack.read(next(n for n in names if n.startswith("fraud/v1/") and n.endswith("card-r1.json")))
    )
    assert card_json["model_details"]["governance"]["audit_checkpoint"] == signed.public()
