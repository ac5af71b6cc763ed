"""Issue 8 item 5: the audit chain is keyed and checkpointed outside the database, so whoever holds the database
cannot rewrite it undetected (checkpoints themselves: test_security_audit_checkpoints.py; the key:
test_security_audit_key.py; role changes on the chain: test_security_role_audit.py).

Every tamper case the issue names is enumerated below, (a) to (h). Each must make `verify()` fail with a reason,
`manage.py verify_audit` exit 1, and `GET /api/v1/audit/verify` answer ok=false with that reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from audit import canonical, checkpoints, triggers, verification
from audit.canonical import GENESIS, canonical_json, format_at
from audit.models import AuditEvent
from audit.verification import verify, write_checkpoint
from tests.support.audit import append, tamper

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.postgres_only  # skipped on other databases (tests/conftest.py)
ATTACKER_KEY = b"a-key-the-attacker-made-up-because-the-real-one-is-not-in-the-database"


def _seal(fields: dict, key: bytes | None) -> str:
    """What an attacker without the real key can compute: plain SHA-256 (the old scheme) or an HMAC under a
    key of their own."""
    message = canonical_json(dict(fields, at=format_at(fields["at"]))).encode()
    return (
        hashlib.sha256(message).hexdigest() if key is None else hmac.new(key, message, "sha256").hexdigest()
    )


def _insert(rows: list[dict]) -> None:
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                "INSERT INTO audit_auditevent (seq, at, actor, action, object_type, object_id, data, prev_hash, "
                "hash) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)",
                [row[k] for k in ("seq", "at", "actor", "action", "object_type", "object_id")]
                + [json.dumps(row["data"]), row["prev_hash"], row["hash"]],
            )


def _reseal_from(seq: int, key: bytes | None, **changes) -> None:
    """Rewrite event `seq` with `changes` and re-hash it and every event after it, links included."""
    events = list(AuditEvent.objects.filter(seq__gte=seq).order_by("seq").values())
    prev = AuditEvent.objects.filter(seq=seq - 1).values_list("hash", flat=True).first() or GENESIS
    with transaction.atomic():
        tamper("DELETE FROM audit_auditevent WHERE seq >= %s", [seq])
        rows = []
        for event in events:
            fields = {
                k: event[k] for k in ("seq", "at", "actor", "action", "object_type", "object_id", "data")
            }
            if event["seq"] == seq:
                fields.update(changes)
            fields["prev_hash"] = prev
            prev = _seal(fields, key)
            rows.append(dict(fields, hash=prev))
        _insert(rows)


def _drop_and_recreate_table(*, refill: list[dict] | None, guard: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE audit_new (LIKE audit_auditevent INCLUDING ALL)")
        cursor.execute("DROP TABLE audit_auditevent")
        cursor.execute("ALTER TABLE audit_new RENAME TO audit_auditevent")
    if refill:
        _insert(refill)
    if guard:
        with connection.cursor() as cursor:
            for sql in triggers.PG_INSTALL:
                cursor.execute(sql)


def _forged_chain(n: int, key: bytes | None) -> list[dict]:
    from django.utils import timezone

    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "at": timezone.now(),
            "actor": "mallory",
            "action": "test.appended",
            "object_type": "thing",
            "object_id": str(seq),
            "data": {"i": seq},
            "prev_hash": prev,
        }
        prev = _seal(fields, key)
        rows.append(dict(fields, hash=prev))
    return rows


def assert_detected(api, *, reason: str, flag: str | None = None, first_bad: int | None = None) -> None:
    """All three channels say the chain is not to be trusted, and why."""
    result = verify()
    assert result.ok is False, result
    assert reason in result.problem, result.problem
    if flag:
        assert getattr(result, flag) is False, result
    if first_bad is not None:
        assert result.first_bad_seq == first_bad, result

    with pytest.raises(CommandError) as info:
        call_command("verify_audit", stdout=open(os.devnull, "w"))
    assert info.value.returncode == 1
    assert reason in str(info.value)

    body = api.get("/api/v1/audit/verify").json()
    assert body["ok"] is False and reason in body["problem"], body
    assert {"checkpoints_ok", "key_ok", "triggers_ok"} <= set(body)
    if flag:
        assert body[flag] is False, body


@pytest.fixture
def checkpointed():
    """Ten keyed events, signed into a checkpoint outside the database; then two more (not yet signed)."""
    append(10, note="approved by carol")
    signed = write_checkpoint()
    assert (signed.seq, signed.keyed_from) == (10, 1)
    append(2)
    result = verify()
    assert result.ok and (result.events, result.checkpoints) == (12, 1), result
    return signed


# --- the eight tamper cases ---------------------------------------------------------------------------------
@needs_postgres
def test_a_an_edited_middle_event_is_detected(api, checkpointed):
    tamper(
        "UPDATE audit_auditevent SET data = jsonb_set(data, '{note}', '\"approved by carot\"') WHERE seq = 6"
    )
    assert_detected(api, reason="event 6 was altered", first_bad=6)


@needs_postgres
def test_b_a_deleted_middle_event_is_detected(api, checkpointed):
    tamper("DELETE FROM audit_auditevent WHERE seq = 6")
    assert_detected(api, reason="event 6 is missing", first_bad=6)


@needs_postgres
def test_c_deleting_the_last_events_is_detected_by_the_checkpoint(api, checkpointed):
    # Links alone cannot see this: what is left is a perfect chain of 7 events.
    tamper("DELETE FROM audit_auditevent WHERE seq >= 8")
    assert verify().events == 7
    assert_detected(api, reason="events 8..10 are missing", flag="checkpoints_ok", first_bad=8)


@needs_postgres
@pytest.mark.parametrize(
    ("refill", "reason"),
    [
        pytest.param("nothing", "events 1..10 are missing", id="recreated-empty"),
        pytest.param("made-up-key", "event 1 was altered or forged", id="refilled-sealed-with-a-made-up-key"),
        pytest.param("unkeyed", "event 1 was altered or forged", id="refilled-with-unkeyed-hashes"),
    ],
)
def test_d_dropping_and_recreating_the_table_is_detected(api, checkpointed, refill, reason):
    rows = {
        "nothing": None,
        "made-up-key": _forged_chain(12, ATTACKER_KEY),
        "unkeyed": _forged_chain(12, None),
    }
    _drop_and_recreate_table(refill=rows[refill], guard=True)  # even with the guard triggers put back
    assert triggers.installed(connection)
    assert_detected(api, reason=reason, flag="checkpoints_ok" if refill == "nothing" else None)
    # Whatever refilled the table, the signed checkpoint no longer matches it.
    assert "checkpoint" in verify().problem


@needs_postgres
def test_d_a_recreated_table_without_its_triggers_fails_on_both_counts(api, checkpointed):
    _drop_and_recreate_table(refill=None, guard=False)
    result = verify()
    assert (result.checkpoints_ok, result.triggers_ok, result.ok) == (False, False, False)
    assert_detected(api, reason="triggers are missing", flag="triggers_ok")


@needs_postgres
@pytest.mark.parametrize(
    "key",
    [pytest.param(None, id="re-hashed-unkeyed"), pytest.param(ATTACKER_KEY, id="re-hashed-made-up-key")],
)
def test_e_rewriting_an_event_and_re_hashing_everything_after_it_is_detected(api, checkpointed, key):
    _reseal_from(5, key, actor="mallory")
    rows = list(AuditEvent.objects.order_by("seq"))
    assert rows[4].actor == "mallory" and all(
        b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False)
    )
    assert_detected(api, reason="event 5 was altered or forged", first_bad=5)
    assert "not the one the checkpoint" in verify().problem


@needs_postgres
@pytest.mark.parametrize(
    "key",
    [pytest.param(None, id="sealed-unkeyed"), pytest.param(ATTACKER_KEY, id="sealed-with-a-made-up-key")],
)
def test_f_appending_a_forged_promotion_signed_by_ann_is_detected(api, checkpointed, key):
    from django.utils import timezone

    head = AuditEvent.objects.order_by("-seq").first()
    fields = {
        "seq": head.seq + 1,
        "at": timezone.now(),
        "actor": "ann",
        "action": "promotion.signed",
        "object_type": "promotion",
        "object_id": "7",
        "data": {"meaning": "approval", "version": 3},
        "prev_hash": head.hash,
    }
    _insert([dict(fields, hash=_seal(fields, key))])  # a plain INSERT: the triggers allow appends
    assert_detected(api, reason="event 13 was altered or forged", first_bad=13)


@needs_postgres
@pytest.mark.parametrize(
    "trigger",
    ["audit_event_no_update_delete", "audit_event_no_truncate"],
    ids=["row-trigger", "truncate-trigger"],
)
def test_g_missing_triggers_are_detected(api, checkpointed, trigger):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {trigger} ON audit_auditevent")
    assert_detected(api, reason="append-only triggers are missing", flag="triggers_ok")


@needs_postgres
def test_g_disabled_triggers_count_as_missing(api, checkpointed):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_delete")
    assert_detected(api, reason="append-only triggers are missing", flag="triggers_ok")


def _rewrite_store(edit) -> None:
    lines = checkpoints.path().read_text().splitlines()
    checkpoints.path().write_text("\n".join(edit(lines)) + "\n")


def _line_signed_with(key: bytes, key_id: str, **fields) -> str:
    message = json.dumps(
        {k: fields[k] for k in ("seq", "head", "at", "keyed_from")} | {"key_id": key_id},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return json.dumps(fields | {"key_id": key_id, "signature": hmac.new(key, message, "sha256").hexdigest()})


@pytest.mark.parametrize(
    "case",
    ["edited-head", "edited-seq", "forged-with-another-key", "forged-with-our-key-id", "unreadable-line"],
)
def test_h_an_edited_or_forged_checkpoint_is_detected(api, checkpointed, case):
    head = AuditEvent.objects.order_by("-seq").first()

    def edit(lines):
        cp = json.loads(lines[0])
        if case == "edited-head":
            return [json.dumps(cp | {"head": "f" * 64})]
        if case == "edited-seq":
            return [json.dumps(cp | {"seq": 5})]
        if case == "unreadable-line":
            return [*lines, '{"seq": 12, "head": ']
        fields = {"seq": head.seq, "head": head.hash, "at": cp["at"], "keyed_from": 1}
        if case == "forged-with-another-key":
            return [*lines, _line_signed_with(ATTACKER_KEY, "0123456789abcdef", **fields)]
        return [*lines, _line_signed_with(ATTACKER_KEY, cp["key_id"], **fields)]

    _rewrite_store(edit)
    reason = {"unreadable-line": "unreadable", "forged-with-another-key": "another key"}.get(
        case, "bad signature"
    )
    assert_detected(api, reason=reason, flag="checkpoints_ok")
    assert verify().key_ok is True  # the configured key is the right one: the store was tampered with


def test_h_a_wrong_key_is_detected(api, checkpointed, settings):
    settings.AUDIT_CHAIN_KEY = "not-the-key-that-sealed-this-chain-" + "x" * 20
    assert_detected(api, reason="signed with another key", flag="key_ok")
    assert "event 1 was altered or forged" in verify().problem


def test_h_a_missing_key_is_detected(api, checkpointed, settings):
    settings.AUDIT_CHAIN_KEY = ""
    assert_detected(api, reason="AUDIT_CHAIN_KEY is not set", flag="key_ok")


def test_h_a_lost_checkpoint_store_is_detected_once_events_are_overdue(api, checkpointed, settings):
    checkpoints.path().unlink()
    assert verify().ok  # 12 fresh events: the next beat tick would sign them
    settings.AUDIT_CHECKPOINT_MAX_LAG_SECONDS = 0  # ...but it never comes
    assert_detected(api, reason="no signed checkpoint covers events since 1", flag="checkpoints_ok")


@needs_postgres
def test_the_verify_page_names_the_failed_check_when_no_event_is_bad(client, user, checkpointed):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER audit_event_no_truncate ON audit_auditevent")
    client.force_login(user)
    page = client.get("/audit/verify/").content.decode()
    assert "append-only triggers are missing" in page and "triggers <strong>missing</strong>" in page
    assert "#None" not in page


@needs_postgres
def test_a_broken_chain_is_never_signed(checkpointed):
    tamper("UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = 11")
    with pytest.raises(verification.ChainBroken, match="event 11 was altered"):
        write_checkpoint()
    tamper("DELETE FROM audit_auditevent WHERE seq >= 9")
    with pytest.raises(verification.ChainBroken, match="before the latest checkpoint"):
        write_checkpoint()
    assert len(checkpoints.load().items) == 1
    _rewrite_store(lambda lines: [json.dumps(json.loads(lines[0]) | {"seq": 8})])  # "agree" with the deletion
    with pytest.raises(verification.ChainBroken, match="latest checkpoint does not verify.*bad signature"):
        write_checkpoint()


# --- older installs: unkeyed events are anchored by the first checkpoint -----------------------------------------
@needs_postgres
def test_an_older_install_with_unkeyed_events_stays_verifiable_once_anchored(api):
    legacy = _forged_chain(4, None)  # what the previous release wrote: plain SHA-256
    for row in legacy:
        assert row["hash"] == canonical.compute_legacy_hash(**{k: v for k, v in row.items() if k != "hash"})
    _insert(legacy)
    append(2)  # the upgraded release seals new events with the key, linked to the unkeyed head
    result = verify()
    assert (
        not result.ok
        and not result.checkpoints_ok
        and "events 1..4 are sealed without the key" in result.problem
    )

    call_command("audit_checkpoint", stdout=open(os.devnull, "w"))  # the upgrade step
    result = verify()
    assert result.ok and result.keyed_from == 5, result
    assert checkpoints.load().items[0].keyed_from == 5

    # The unkeyed prefix cannot be rewritten now either: its head is sealed into event 5 and the checkpoint.
    _reseal_from(2, None, actor="mallory")
    assert_detected(api, reason="event 5", first_bad=5)
