"""The audit chain: appends, verification, tamper detection, refusal of UPDATE/DELETE, concurrency, API, pages."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sqlite3
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from audit import canonical, triggers, verification
from audit.canonical import GENESIS
from audit.models import AuditEvent
from audit.services import record
from audit.verification import verify
from tests.support.audit import EVENT_FIELDS, append

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


# --- the database refuses changes -----------------------------------------------------------------
@needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = 1",
        "UPDATE audit_auditevent SET data = '{}'",
        "DELETE FROM audit_auditevent WHERE seq = 2",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_postgres_refuses_raw_update_delete_and_truncate(sql):
    append(3)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.count() == 3
    assert verify().ok


@needs_postgres
def test_postgres_refuses_changes_through_the_orm_too():
    event = append(1)[0]
    event.actor = "mallory"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().actor == "alice"


def test_the_guard_triggers_are_installed_by_the_migration():
    assert triggers.installed(connection)


class _SqliteEditor:
    """Just enough of a schema editor to run the migration's RunPython on a raw sqlite3 connection."""

    class _Connection:
        vendor = "sqlite"

    connection = _Connection()

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw

    def execute(self, sql, params=None):
        self.raw.execute(sql, params or ())


def _sqlite_with_migrations(path):
    """A SQLite database with the audit app's real migrations applied (0001 table, 0002 triggers)."""
    from django.db.migrations.executor import MigrationExecutor
    from django.db.utils import ConnectionHandler

    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}})
    conn = handler["default"]
    try:
        executor = MigrationExecutor(conn)
        executor.migrate([("audit", "0002_append_only_triggers")])
    finally:
        conn.close()


def _insert_raw(raw: sqlite3.Connection, seq: int) -> None:
    raw.execute(
        "INSERT INTO audit_auditevent (seq, at, actor, action, object_type, object_id, data, prev_hash, hash) "
        "VALUES (?, '2026-01-01 00:00:00', 'alice', 'test.x', 't', '1', '{}', ?, ?)",
        (seq, GENESIS, f"{seq:064x}"),
    )
    raw.commit()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor = 'mallory' WHERE seq = 1",
        "UPDATE audit_auditevent SET data = '{}'",
        "DELETE FROM audit_auditevent WHERE seq = 1",
        "DELETE FROM audit_auditevent",
    ],
)
def test_sqlite_refuses_raw_update_and_delete(tmp_path, sql):
    path = tmp_path / "audit.sqlite3"
    _sqlite_with_migrations(path)
    raw = sqlite3.connect(path)
    _insert_raw(raw, 1)
    _insert_raw(raw, 2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute(sql)
    raw.rollback()
    assert raw.execute("SELECT count(*), min(actor) FROM audit_auditevent").fetchone() == (2, "alice")
    raw.close()


def test_the_sqlite_migration_runs_exactly_the_trigger_sql(tmp_path):
    from importlib import import_module

    migration = import_module("audit.migrations.0002_append_only_triggers").Migration
    raw = sqlite3.connect(tmp_path / "bare.sqlite3")
    raw.execute("CREATE TABLE audit_auditevent (seq integer PRIMARY KEY, actor text)")
    migration.operations[0].code(None, _SqliteEditor(raw))
    names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert names == {"audit_event_no_update", "audit_event_no_delete"}
    raw.execute("INSERT INTO audit_auditevent VALUES (1, 'alice')")
    with pytest.raises(sqlite3.IntegrityError, match="UPDATE on audit_auditevent refused"):
        raw.execute("UPDATE audit_auditevent SET actor = 'x'")
    migration.operations[0].reverse_code(None, _SqliteEditor(raw))
    raw.execute("UPDATE audit_auditevent SET actor = 'x'")  # unguarded once the migration is reversed


def test_flush_is_refused_on_a_real_sqlite_database_and_allowed_for_tests(tmp_path, settings):
    from django.core.management.color import no_style
    from django.core.management.sql import sql_flush
    from django.db.utils import ConnectionHandler

    path = tmp_path / "app.sqlite3"
    _sqlite_with_migrations(path)
    raw = sqlite3.connect(path)
    _insert_raw(raw, 1)
    raw.close()
    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}})
    conn = handler["default"]
    conn.ensure_connection()  # connection_created wraps sql_flush
    try:
        settings.AUDIT_ALLOW_FLUSH = None  # not a test database: refused
        with pytest.raises(DatabaseError, match="append-only"):
            conn.ops.execute_sql_flush(sql_flush(no_style(), conn))
        settings.AUDIT_ALLOW_FLUSH = True
        conn.ops.execute_sql_flush(sql_flush(no_style(), conn))
        assert triggers.installed(conn)  # re-created by the flush itself
    finally:
        conn.close()
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (0,)
    _insert_raw(raw, 1)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM audit_auditevent")
    raw.close()


# --- tampering is detected --------------------------------------------------------------------------
def _tamper(sql: str, params=()) -> None:
    """Change rows through a superuser session with triggers disabled (what an attacker with DB access does)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


@needs_postgres
def test_editing_one_byte_of_one_row_is_detected_with_the_first_bad_seq():
    append(10, note="approved by carol")
    _tamper(
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
    _tamper(sql)
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
    _tamper("UPDATE audit_auditevent SET actor = 'mallory', hash = %s WHERE seq = 5", [forged])
    result = verify()
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert "does not link" in result.problem


@needs_postgres
def test_verify_audit_command_exits_non_zero_when_broken(capsys):
    append(4)
    call_command("verify_audit")
    assert "ok: true" in capsys.readouterr().out
    _tamper("UPDATE audit_auditevent SET object_id = '9' WHERE seq = 2")
    with pytest.raises(CommandError) as info:
        call_command("verify_audit")
    assert info.value.returncode == 1
    out = capsys.readouterr().out
    assert "ok: false" in out and "first_bad_seq: 2" in out and "events: 4" in out


# --- concurrency --------------------------------------------------------------------------------------
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_appending_at_once_produce_a_gap_free_valid_chain():
    threads_count, per_thread = 20, 5
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            if n % 2:  # one event per transaction
                for i in range(per_thread):
                    record(
                        actor=f"user{n}", action="test.concurrent", object_type="thread", object_id=f"{n}-{i}"
                    )
            else:  # several events in one transaction (the one-round-trip path after the first)
                with transaction.atomic():
                    for i in range(per_thread):
                        record(
                            actor=f"user{n}",
                            action="test.concurrent",
                            object_type="thread",
                            object_id=f"{n}-{i}",
                        )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads_count * per_thread + 1))
    result = verify()
    assert result.ok and result.events == threads_count * per_thread
    # A transaction's events are consecutive: nobody appends while it holds the chain lock.
    for n in range(0, threads_count, 2):
        mine = list(AuditEvent.objects.filter(actor=f"user{n}").values_list("seq", flat=True))
        assert mine == list(range(mine[0], mine[0] + per_thread))


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_stale_head_remembered_from_an_earlier_transaction_is_never_used():
    with transaction.atomic():
        record(actor="a", action="test.one", object_type="t", object_id="1")
        record(actor="a", action="test.two", object_type="t", object_id="2")

    def other_connection() -> None:
        try:
            record(actor="b", action="test.other", object_type="t", object_id="3")
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_connection)
    thread.start()
    thread.join()
    with transaction.atomic():
        fourth = record(actor="a", action="test.four", object_type="t", object_id="4")
        fifth = record(actor="a", action="test.five", object_type="t", object_id="5")
    assert (fourth.seq, fifth.seq) == (4, 5)
    assert verify().ok


@pytest.mark.django_db(transaction=True)
def test_flush_between_transactional_tests_keeps_the_guard():
    append(2)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    assert triggers.installed(connection)
    append(1)
    sql = "TRUNCATE audit_auditevent" if connection.vendor == "postgresql" else "DELETE FROM audit_auditevent"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.count() == 1


# --- API --------------------------------------------------------------------------------------------
def test_api_lists_events_oldest_first_paginated(api):
    append(7)
    body = api.get("/api/v1/audit/?page_size=3").json()
    assert body["count"] == 7
    assert [e["seq"] for e in body["results"]] == [1, 2, 3]
    assert set(body["results"][0]) == EVENT_FIELDS
    assert api.get("/api/v1/audit/?page=3&page_size=3").json()["results"][0]["seq"] == 7
    assert api.get("/api/v1/audit/?page=9").status_code == 404
    assert api.get("/api/v1/audit/?page=abc").status_code in {400, 404}


def test_api_filters_by_actor_action_object_and_since(api):
    record(actor="alice", action="promotion.requested", object_type="promotion", object_id="1")
    record(actor="bob", action="promotion.approved", object_type="promotion", object_id="1")
    record(actor="bob", action="card.revised", object_type="card", object_id="7")

    def seqs(query):
        response = api.get(f"/api/v1/audit/?{query}")
        assert response.status_code == 200, response.content
        return [e["seq"] for e in response.json()["results"]]

    assert seqs("actor=bob") == [2, 3]
    assert seqs("action=promotion.approved") == [2]
    assert seqs("action=promotion.") == [1, 2]
    assert seqs("object_type=promotion&object_id=1") == [1, 2]
    assert seqs("object_type=card&actor=alice") == []
    assert seqs("since=2000-01-01") == [1, 2, 3]
    assert seqs("since=2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize("since", ["yesterday", "2026-13-40", "2026-01-01T25:00"])
def test_api_rejects_a_bad_since_with_400(api, since):
    response = api.get("/api/v1/audit/", {"since": since})
    assert response.status_code == 400
    assert "since" in response.json()["detail"]


def test_api_verify_reports_the_chain(api):
    events = append(3)
    body = api.get("/api/v1/audit/verify").json()
    assert (
        body["ok"] is True
        and body["events"] == 3
        and body["head"] == events[-1].hash
        and body["first_bad_seq"] is None
    )


def test_export_is_for_auditors_and_staff_only(api, make_user, staff):
    from rest_framework.test import APIClient

    exporters = (make_user("audrey", "auditors"), staff)  # granting these roles is audited too: events 1, 2
    append(3)
    assert api.get("/api/v1/audit/export").status_code == 403
    for who in exporters:
        client = APIClient()
        client.force_authenticate(who)
        response = client.get("/api/v1/audit/export")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/x-ndjson")
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert [json.loads(line)["seq"] for line in lines[:-1]] == [1, 2, 3, 4, 5]
        assert json.loads(lines[-1]) == {"checkpoint": None}  # none signed yet


def test_export_honours_an_ndjson_accept_header(make_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user("audrey", "auditors"))  # one event: audrey joins auditors
    append(1)
    response = client.get("/api/v1/audit/export", HTTP_ACCEPT="application/x-ndjson")
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).splitlines()) == 2 + 1  # + the checkpoint line


def test_anonymous_api_calls_get_401():
    from rest_framework.test import APIClient

    for path in ("/api/v1/audit/", "/api/v1/audit/verify", "/api/v1/audit/export"):
        assert APIClient().get(path).status_code == 401


def test_the_schema_describes_the_audit_endpoints():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/?format=json", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    text = schema.content.decode()
    for path in ("/api/v1/audit/", "/api/v1/audit/verify", "/api/v1/audit/export"):
        assert path in text


# --- pages ------------------------------------------------------------------------------------------
def test_audit_page_lists_and_filters_events(client, user):
    record(actor="alice", action="promotion.requested", object_type="promotion", object_id="1")
    record(actor="bob", action="promotion.approved", object_type="promotion", object_id="1")
    client.force_login(user)
    page = client.get("/audit/").content.decode()
    assert "promotion.requested" in page and "promotion.approved" in page
    filtered = client.get("/audit/?actor=bob").content.decode()
    assert "promotion.approved" in filtered and "promotion.requested" not in filtered.split("<table")[1]
    assert client.get("/audit/?since=garbage").status_code == 400
    assert "Export" not in page  # readers do not export


def test_audit_verify_button_returns_the_status_partial(client, user):
    append(2)
    client.force_login(user)
    response = client.get("/audit/verify/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "verified" in response.content.decode()
    assert "<html" not in response.content.decode()
    assert "verified" in client.get("/audit/verify/").content.decode()


@needs_postgres
def test_audit_verify_page_shows_a_broken_chain(client, user):
    append(3)
    _tamper("UPDATE audit_auditevent SET actor = 'x' WHERE seq = 2")
    client.force_login(user)
    body = client.get("/audit/verify/", HTTP_HX_REQUEST="true").content.decode()
    assert "broken" in body and "#2" in body


def test_audit_pages_need_a_login(client):
    assert client.get("/audit/").status_code == 302
    assert client.get("/policy/").status_code == 302


def test_policy_page_shows_the_source_and_the_effective_targets(client, user, settings, tmp_path):
    from approvals import policy

    path = tmp_path / "policies.yaml"
    path.write_text(
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 2\n    approver_groups: [approvers]\n"
        "    gates: [version_ready, beats_current]\n"
        "overrides:\n  - models: 'credit-*'\n    targets:\n      production: {approvals: 3}\n"
    )
    settings.POLICY_PATH = path
    policy.clear_cache()
    client.force_login(user)
    try:
        page = client.get("/policy/").content.decode()
        assert "beats_current" in page and "credit-*" in page and "approver_groups" in page  # table + YAML
        per_model = client.get("/policy/", {"model": "credit-x"}).content.decode()
        assert '<td class="right">3</td>' in per_model
        assert "line 8" in per_model
    finally:
        policy.clear_cache()


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_savepoint_rolled_back_with_the_chain_lock_lets_others_append_without_forking():
    def other_connection() -> None:
        try:
            record(actor="b", action="test.other", object_type="t", object_id="b")
        finally:
            connections.close_all()

    with transaction.atomic():
        # The chain lock is taken at the outer level here...
        record(actor="a", action="test.outer", object_type="t", object_id="1")
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            # ...and inside a savepoint here.
            record(actor="a", action="test.lost", object_type="t", object_id="2")
            raise RuntimeError
        # The savepoint's rollback released the lock: another connection appends meanwhile.
        thread = threading.Thread(target=other_connection)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()
        after = record(actor="a", action="test.after", object_type="t", object_id="3")
    assert after.seq == 3
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "test.outer",
        "test.other",
        "test.after",
    ]
    assert verify().ok
