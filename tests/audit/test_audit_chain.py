"""The audit chain: appends and verification, tamper detection (refusal of changes: test_audit_append_only.py;
concurrency: test_audit_concurrency.py; API: test_audit_api.py; pages: test_audit_pages.py)."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from audit import canonical, verification
from audit.canonical import GENESIS
from audit.models import AuditEvent
from audit.services import record
from audit.verification import verify
from tests.support.audit import EVENT_FIELDS, append, tamper

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.postgres_only  # skipped on other databases (tests/conftest.py)


# --- appending and verifying ----------------------------------------------------------------------
def test_events_are_chained_gap_free_from_the_genesis_hash():
    events = append(5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    result = verify()
    assert (result.ok, result.events, result.head, result.first_bad_seq) == (True, 5, events[-1].hash, None)


def test_the_hash_is_an_hmac_under_the_audit_key_over_the_canonical_json_of_the_event(settings):
    import hashlib
    import hmac

    event = record(actor="bob", action="test.x", object_type="t", object_id="1", data={"b": 1, "a": "é"})
    stored = AuditEvent.objects.get(seq=event.seq)
    canonical = json.dumps(
        {
            "seq": 1,
            "at": stored.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": "bob",
            "action": "test.x",
            "object_type": "t",
            "object_id": "1",
            "data": {"a": "é", "b": 1},
            "prev_hash": GENESIS,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    chain_key = hmac.digest(settings.AUDIT_CHAIN_KEY.encode(), b"audit-chain/v1", hashlib.sha256)
    assert stored.hash == hmac.new(chain_key, canonical.encode(), hashlib.sha256).hexdigest()
    assert stored.hash != hashlib.sha256(canonical.encode()).hexdigest()


def test_an_empty_chain_verifies():
    assert verify().as_dict() == {
        "ok": True,
        "events": 0,
        "head": None,
        "first_bad_seq": None,
        "checkpoints_ok": True,
        "key_ok": True,
        "triggers_ok": True,
    }


def test_awkward_data_is_normalised_so_it_still_verifies_after_the_database_round_trip():
    record(
        actor="system",
        action="test.awkward",
        object_type="t",
        object_id="1",
        data={
            "when": dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
            "day": dt.date(2026, 1, 2),
            "price": decimal.Decimal("1.50"),
            "nan": float("nan"),
            "inf": float("-inf"),
            "huge": 1e300,
            "tiny": 1e-7,
            "neg_zero": -0.0,
            "nul": "a\x00b",
            "unicode": "ünïcødé ✓",
            "tuple": (1, 2),
            "set": {"b", "a"},
            "nested": {"k": [1.5, None, True]},
            3: "int key",
        },
    )
    stored = AuditEvent.objects.get(seq=1).data
    assert stored["nan"] == "NaN" and stored["set"] == ["a", "b"] and stored["3"] == "int key"
    assert verify().ok


def test_data_that_json_cannot_carry_is_refused_before_anything_is_written():
    with pytest.raises(TypeError):
        record(actor="a", action="test.x", object_type="t", object_id="1", data={"obj": object()})
    assert AuditEvent.objects.count() == 0


def test_an_event_recorded_in_a_rolled_back_transaction_leaves_no_gap():
    record(actor="a", action="test.kept", object_type="t", object_id="1")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(actor="a", action="test.lost", object_type="t", object_id="2")
        raise RuntimeError("the caller's change failed")
    third = record(actor="a", action="test.kept", object_type="t", object_id="3")
    assert third.seq == 2
    assert verify().ok


def test_verify_streams_in_batches():
    append(23)
    result = verify(batch_size=5)
    assert (result.ok, result.events) == (True, 23)


def test_export_lines_are_json_lines_oldest_first():
    append(3)
    lines = list(verification.export_lines(batch_size=2))
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3]
    assert set(json.loads(lines[0])) == EVENT_FIELDS


# --- tampering is detected --------------------------------------------------------------------------
@needs_postgres
def test_editing_one_byte_of_one_row_is_detected_with_the_first_bad_seq():
    append(10, note="approved by carol")
    tamper(
        "UPDATE audit_auditevent SET data = jsonb_set(data, '{note}', '\"approved by carot\"') WHERE seq = 6"
    )
    assert AuditEvent.objects.get(seq=6).data["note"] == "approved by carot"
    result = verify()
    assert (result.ok, result.first_bad_seq, result.events) == (False, 6, 10)
    assert "altered" in result.problem


@needs_postgres
@pytest.mark.parametrize(
    ("sql", "first_bad"),
    [
        ("UPDATE audit_auditevent SET actor = 'mallorx' WHERE seq = 3", 3),
        ("UPDATE audit_auditevent SET at = at + interval '1 microsecond' WHERE seq = 4", 4),
        ("UPDATE audit_auditevent SET hash = repeat('a', 64) WHERE seq = 5", 5),
        ("DELETE FROM audit_auditevent WHERE seq = 7", 7),
        ("UPDATE audit_auditevent SET prev_hash = repeat('0', 64) WHERE seq = 2", 2),
    ],
)
def test_every_kind_of_tampering_is_detected(sql, first_bad):
    append(8)
    tamper(sql)
    result = verify()
    assert (result.ok, result.first_bad_seq) == (False, first_bad)


@needs_postgres
def test_re_sealing_an_edited_event_breaks_the_link_from_the_next_one():
    append(8)
    event = AuditEvent.objects.get(seq=5)
    forged = canonical.compute_hash(
        seq=5,
        at=event.at,
        actor="mallory",
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        data=event.data,
        prev_hash=event.prev_hash,
    )
    tamper("UPDATE audit_auditevent SET actor = 'mallory', hash = %s WHERE seq = 5", [forged])
    result = verify()
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert "does not link" in result.problem


@needs_postgres
def test_verify_audit_command_exits_non_zero_when_broken(capsys):
    append(4)
    call_command("verify_audit")
    assert "ok: true" in capsys.readouterr().out
    tamper("UPDATE audit_auditevent SET object_id = '9' WHERE seq = 2")
    with pytest.raises(CommandError) as info:
        call_command("verify_audit")
    assert info.value.returncode == 1
    out = capsys.readouterr().out
    assert "ok: false" in out and "first_bad_seq: 2" in out and "events: 4" in out
