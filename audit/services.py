"""Appending to and verifying the audit chain.

Each event's `hash` is HMAC-SHA256 (hex), under a sub-key of settings.AUDIT_CHAIN_KEY (see keys.py), over
the canonical JSON (sorted keys, no spaces, UTF-8) of {seq, at, actor, action, object_type, object_id, data,
prev_hash}; the first event's prev_hash is 64 zeros. Changing any byte of any event breaks its hash, removing
or reordering events breaks the links, and without the key — which is never in the database — nobody can
recompute a hash, so a rewrite cannot be re-sealed. Signed checkpoints kept outside the database
(checkpoints.py) catch what links alone cannot: the last events deleted, or the table dropped and refilled.

Events written before the key existed (older installs) are plain SHA-256 over the same JSON. They can only
form a prefix of the chain, and the first signed checkpoint fixes where that prefix ends (`keyed_from`); until
one exists, verification reports them as not anchored.

Appends are serialised so the chain never forks: on PostgreSQL by a transaction-scoped advisory lock taken
before the head is read; on SQLite by the IMMEDIATE transaction mode (settings), which takes the write lock
when the transaction begins. The lock is held until the caller's transaction ends, so a transaction that
appends should be short (every append in the database waits for it).

Round trips on PostgreSQL: the first event of a transaction costs two (lock + head in one, insert), each
further event in the same transaction one (a guarded insert that checks it still holds the lock and the head
it appended; if not, it falls back to lock + head — see _PG_INSERT_AFTER).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit import checkpoints, keys, triggers
from audit.models import AuditEvent

GENESIS = "0" * 64
# pg_advisory_xact_lock key: any constant no other code uses ("audit" in ASCII).
ADVISORY_LOCK_KEY = 0x6175646974
FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "data", "prev_hash", "hash")


@dataclass
class VerifyResult:
    ok: bool
    events: int
    head: str | None
    first_bad_seq: int | None
    problem: str = ""  # sentences about what is wrong ("" when ok)
    key_ok: bool = True
    checkpoints_ok: bool = True
    triggers_ok: bool = True
    checkpoints: int = 0  # signed checkpoints read
    keyed_from: int | None = None  # first event sealed with the key (earlier ones: plain SHA-256)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "events": self.events,
            "head": self.head,
            "first_bad_seq": self.first_bad_seq,
            "checkpoints_ok": self.checkpoints_ok,
            "key_ok": self.key_ok,
            "triggers_ok": self.triggers_ok,
        }


class ChainBroken(Exception):
    """The chain (or the latest checkpoint) does not verify: nothing may be signed over it."""


# --- canonical form ----------------------------------------------------------------------------------
def normalise(value: Any) -> Any:
    """Plain JSON data that survives a round trip through jsonb (PostgreSQL) and JSON text (SQLite) unchanged.

    datetimes/dates → ISO-8601 strings, Decimals → floats, UUIDs/paths → strings, tuples/sets → lists,
    non-finite floats → "NaN"/"Infinity"/"-Infinity", -0.0 → 0.0 and floats too large for a short repr → ints
    (jsonb prints numbers in full, which would come back as ints), NUL characters (refused by jsonb) → U+FFFD.
    """
    if value is None or isinstance(value, bool | str | int):
        return value.replace("\x00", "\ufffd") if isinstance(value, str) else value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value == 0:
            return 0.0
        if value.is_integer() and abs(value) >= 1e16:
            return int(value)
        return value
    if isinstance(value, decimal.Decimal):
        return normalise(float(value))
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | PurePath):
        return str(value)
    if isinstance(value, dict):
        return {
            str(normalise(k)) if not isinstance(k, str) else normalise(k): normalise(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((normalise(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    raise TypeError(f"audit data must be JSON-serialisable; got {type(value).__name__}: {value!r}")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def compute_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: Any,
    prev_hash: str,
) -> str:
    payload = {
        "seq": seq,
        "at": format_at(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hmac.digest(keys.chain_key(), canonical_json(payload).encode("utf-8"), "sha256").hex()


def compute_legacy_hash(**fields) -> str:
    """The unkeyed hash of events written before the key existed (plain SHA-256 of the same JSON)."""
    payload = dict(fields, at=format_at(fields["at"]))
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


# --- appending ------------------------------------------------------------------------------------
_HEAD_SQL = "SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1"
_COLUMNS = "seq, at, actor, action, object_type, object_id, data, prev_hash, hash"
_PG_LOCK = f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"
_PG_HEAD_AND_TXID = (
    "SELECT h.seq, h.hash, txid_current() FROM (SELECT 1) AS one "
    f"LEFT JOIN LATERAL ({_HEAD_SQL}) AS h ON true"
)
_PG_INSERT = f"INSERT INTO audit_auditevent ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
# The fast path of a further event in one transaction: it inserts only when this is still the transaction
# (same txid) that appended this connection's last event and that event is still the head. Then the chain lock
# is held too, without re-taking it (which costs as much as the insert): the lock was taken in the same
# (sub)transaction as the first event it covered, and rolling back a savepoint removes the lock only together
# with every event appended after it — so a surviving last event means a surviving lock. Otherwise (another
# transaction, or a rolled-back savepoint) it inserts nothing and record() falls back to lock-and-read.
_PG_INSERT_AFTER = (
    f"INSERT INTO audit_auditevent ({_COLUMNS}) "
    "SELECT %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s WHERE txid_current() = %s "
    "AND EXISTS (SELECT 1 FROM audit_auditevent WHERE seq = %s AND hash = %s) "
    # Equality, not `seq > %s`: with stale statistics (a young table) the planner scans the whole table for a
    # range. Equivalent here because the chain is gap-free and rows are only ever added at head + 1.
    "AND NOT EXISTS (SELECT 1 FROM audit_auditevent WHERE seq = %s)"
)


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_LOCK)
    # SQLite: the surrounding IMMEDIATE transaction already holds the database's write lock.


def _client_side_binding(raw_cursor) -> bool:
    import psycopg

    return isinstance(raw_cursor, psycopg.ClientCursor)


def _pg_lock_and_read_head(cursor) -> tuple[int | None, str, int]:
    """Take the chain lock, then read the head — after the lock is granted, so never a stale head."""
    if _client_side_binding(cursor.cursor):
        # One round trip, two statements: in READ COMMITTED each statement takes its own snapshot,
        # so the SELECT sees every event committed before the lock was granted.
        cursor.execute(f"{_PG_LOCK}; {_PG_HEAD_AND_TXID}")
        cursor.cursor.nextset()
    else:  # server-side binding: one statement per execute
        cursor.execute(_PG_LOCK)
        cursor.execute(_PG_HEAD_AND_TXID)
    seq, hash_, txid = cursor.fetchone()
    return seq, hash_, txid


def _new_event(*, seq, prev_hash, actor, action, object_type, object_id, data) -> AuditEvent:
    # timezone.now() is UTC with microseconds, which is what both databases keep.
    at = timezone.now()
    fields = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
        "prev_hash": prev_hash,
    }
    event = AuditEvent(**fields)
    event.hash = compute_hash(**fields)
    return event


def _pg_params(event: AuditEvent, data_json: str) -> list:
    return [
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.object_type,
        event.object_id,
        data_json,
        event.prev_hash,
        event.hash,
    ]


def _record_pg(fields: dict, data_json: str, *, in_caller_transaction: bool) -> AuditEvent:
    with connection.cursor() as cursor:
        last = getattr(connection, "_audit_last", None)  # (txid, seq, hash) of this connection's last append
        if last is not None and in_caller_transaction:
            txid, last_seq, last_hash = last
            event = _new_event(seq=last_seq + 1, prev_hash=last_hash, **fields)
            cursor.execute(
                _PG_INSERT_AFTER, _pg_params(event, data_json) + [txid, last_seq, last_hash, last_seq + 1]
            )
            if cursor.rowcount == 1:
                connection._audit_last = (txid, event.seq, event.hash)
                return event
        head_seq, head_hash, txid = _pg_lock_and_read_head(cursor)
        seq, prev_hash = (head_seq + 1, head_hash) if head_seq is not None else (1, GENESIS)
        event = _new_event(seq=seq, prev_hash=prev_hash, **fields)
        cursor.execute(_PG_INSERT, _pg_params(event, data_json))
        connection._audit_last = (txid, event.seq, event.hash)
        return event


def _record_other(fields: dict) -> AuditEvent:
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        head = cursor.fetchone()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    event = _new_event(seq=seq, prev_hash=prev_hash, **fields)
    event.save(force_insert=True)
    return event


def record(
    *, actor: str, action: str, object_type: str, object_id: str, data: dict | None = None
) -> AuditEvent:
    """Append one event, inside the caller's transaction when there is one (it commits or rolls back with it)."""
    if not action:
        raise ValueError("an audit event needs an action")
    clean = normalise(data or {})
    data_json = canonical_json(clean)  # fails here, before taking the lock, on anything JSON cannot carry
    fields = {
        "actor": str(actor or "system")[:150],
        "action": str(action)[:64],
        "object_type": str(object_type)[:64],
        "object_id": str(object_id)[:255],
        "data": clean,
    }
    in_caller_transaction = connection.in_atomic_block
    # No savepoint: an audit write that fails must fail the caller's transaction (and it saves round trips).
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            return _record_pg(fields, data_json, in_caller_transaction=in_caller_transaction)
        return _record_other(fields)


def record_policy_loaded(policy) -> AuditEvent | None:
    """Audit a policy content this chain has not seen last (first load, or the file changed)."""
    with transaction.atomic():
        _lock_chain()
        last = (
            AuditEvent.objects.filter(action="policy.loaded", object_type="policy")
            .order_by("-seq")
            .values_list("data", flat=True)
            .first()
        )
        if last and last.get("sha256") == policy.sha256:
            return None
        return record(
            actor="system",
            action="policy.loaded",
            object_type="policy",
            object_id=policy.source,
            data={
                "sha256": policy.sha256,
                "source": policy.source,
                "targets": sorted(policy.targets),
                "overrides": len(policy.overrides),
            },
        )


# --- verifying ------------------------------------------------------------------------------------
def _last_seq() -> int:
    return AuditEvent.objects.aggregate(last=Max("seq"))["last"] or 0


def _rows(batch_size: int, *, low: int = 0, high: int | None = None) -> Iterator[tuple]:
    """Events with low < seq <= high (default: up to the current head) in seq order, in batches of seq ranges
    (bounded memory, short queries). Ranges bounded on both sides keep PostgreSQL on the primary-key index
    whatever its statistics say, and a missing seq (tampering) only makes one batch shorter."""
    last = _last_seq() if high is None else high
    for start in range(low, last, batch_size):
        qs = AuditEvent.objects.filter(seq__gt=start, seq__lte=min(start + batch_size, last)).order_by("seq")
        yield from qs.values_list(*FIELDS)


# PostgreSQL formats `at` exactly as format_at() does and hands data over as text for the C JSON parser:
# verifying is then bound by hashing rather than by Django's and psycopg's per-value conversions.
_PG_ROWS_SQL = (
    "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), actor, action, "
    "object_type, object_id, data::text, prev_hash, hash FROM audit_auditevent "
    "WHERE seq > %s AND seq <= %s ORDER BY seq"
)


def _verify_rows(batch_size: int, *, low: int = 0, high: int | None = None) -> Iterator[tuple]:
    """Rows for verifying (low < seq <= high): `at` as the canonical string and `data` parsed."""
    last = _last_seq() if high is None else high
    if connection.vendor != "postgresql":
        rows = _rows(batch_size, low=low, high=last)
        for seq, at, actor, action, object_type, object_id, data, prev_hash, stored in rows:
            yield seq, format_at(at), actor, action, object_type, object_id, data, prev_hash, stored
        return
    loads = json.loads
    for start in range(low, last, batch_size):
        with connection.cursor() as cursor:
            cursor.execute(_PG_ROWS_SQL, [start, min(start + batch_size, last)])
            batch = cursor.fetchall()
        for seq, at, actor, action, object_type, object_id, data, prev_hash, stored in batch:
            yield seq, at, actor, action, object_type, object_id, loads(data), prev_hash, stored


@dataclass
class _ChainCheck:
    events: int = 0
    last_seq: int = 0
    head: str | None = None
    first_bad: int | None = None
    problem: str = ""
    legacy: int = 0  # events sealed without the key, all at the start
    heads: dict[int, str] | None = None  # hash at each wanted seq


def _check_chain(rows, *, keyed_from: int | None, want=frozenset(), seq: int = 1, prev: str = GENESIS):
    """Recompute every hash and link of `rows` (from `seq`, linking to `prev`).

    keyed_from: events before it are plain SHA-256, from it on HMAC; None (no checkpoint has fixed it yet):
    plain SHA-256 events are accepted only as a prefix, until the first keyed one."""
    check = _ChainCheck(heads={})
    expected_seq = seq
    key = keys.chain_key()
    sha256 = hashlib.sha256
    digest = hmac.digest
    legacy_open = keyed_from is None or keyed_from > seq
    dumps = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode
    for seq, at, actor, action, object_type, object_id, data, prev_hash, stored in rows:
        check.events += 1
        check.last_seq, check.head = seq, stored
        if seq in want:
            check.heads[seq] = stored
        if check.first_bad is not None:
            continue
        if seq != expected_seq:
            check.first_bad = expected_seq
            check.problem = f"event {expected_seq} is missing (the next event is {seq})"
            continue
        if prev_hash != prev:
            check.first_bad, check.problem = seq, f"event {seq} does not link to the hash of event {seq - 1}"
            continue
        payload = {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "data": data,
            "prev_hash": prev_hash,
        }
        message = dumps(payload).encode("utf-8")
        if legacy_open and (keyed_from is None or seq < keyed_from):
            if sha256(message).hexdigest() == stored:
                check.legacy += 1
                prev = stored
                expected_seq += 1
                continue
            if keyed_from is not None:
                check.first_bad = seq
                check.problem = f"event {seq} was altered: its content no longer matches its (unkeyed) hash"
                continue
            legacy_open = False  # the first keyed event: no unkeyed one may follow
        if digest(key, message, "sha256").hex() != stored:
            check.first_bad = seq
            check.problem = f"event {seq} was altered or forged: its hash is not sealed with the audit key"
            continue
        prev = stored
        expected_seq += 1
    return check


def verify(batch_size: int = 5000) -> VerifyResult:
    """Verify everything an auditor relies on, and say which part failed:

    - the chain: every hash (keyed) and link, reporting the first bad seq (a missing seq as that number);
    - the key: AUDIT_CHAIN_KEY is set and is the key that signed the checkpoints;
    - the checkpoints: each signature, each signed head still in the chain (catches the last events deleted,
      the table dropped or refilled), and no event older than AUDIT_CHECKPOINT_MAX_LAG_SECONDS left uncovered;
    - the guard triggers that make the database refuse UPDATE, DELETE and TRUNCATE are installed.
    """
    from django.conf import settings

    triggers_ok = triggers.installed(connection)
    trigger_problems = [] if triggers_ok else ["the append-only triggers are missing (run migrate)"]
    if not keys.configured():
        events = AuditEvent.objects.count()
        return VerifyResult(
            ok=False,
            events=events,
            head=None,
            first_bad_seq=None,
            problem="; ".join(["AUDIT_CHAIN_KEY is not set: nothing can be verified", *trigger_problems]),
            key_ok=False,
            checkpoints_ok=False,
            triggers_ok=triggers_ok,
        )
    store = checkpoints.load()
    valid = store.valid
    # Checkpoints under another key: the configured key is wrong when none is ours, else they are forgeries.
    key_problems = [] if valid else list(store.key_problems)
    cp_problems = list(store.problems) + (list(store.key_problems) if valid else [])
    keyed_values = {cp.keyed_from for cp in valid}
    keyed_from = min(keyed_values) if keyed_values else None
    if len(keyed_values) > 1:
        cp_problems.append(f"the checkpoints disagree on where keyed events start ({sorted(keyed_values)})")
    want = frozenset(cp.seq for cp in valid)
    check = _check_chain(_verify_rows(batch_size), keyed_from=keyed_from, want=want)
    first_bad = check.first_bad
    chain_problems = [check.problem] if check.problem else []

    for cp in sorted(valid, key=lambda c: c.seq):
        if cp.seq == 0:
            continue
        if cp.seq > check.last_seq:
            missing = check.last_seq + 1
            cp_problems.append(
                f"events {missing}..{cp.seq} are missing: the checkpoint signed at {cp.at} covers up to {cp.seq}"
            )
            first_bad = missing if first_bad is None else min(first_bad, missing)
            break
        if check.heads.get(cp.seq) != cp.head:
            cp_problems.append(
                f"event {cp.seq} is not the one the checkpoint signed at {cp.at} names (rewritten or replaced)"
            )
            first_bad = cp.seq if first_bad is None else min(first_bad, cp.seq)
            break
    if keyed_from is None and check.legacy:
        cp_problems.append(
            f"events 1..{check.legacy} are sealed without the key (written before AUDIT_CHAIN_KEY) and no "
            "signed checkpoint anchors them yet: run `manage.py audit_checkpoint` once"
        )
    covered = max(want, default=0)
    if check.last_seq > covered and not cp_problems:
        oldest = AuditEvent.objects.filter(seq=covered + 1).values_list("at", flat=True).first()
        max_lag = dt.timedelta(seconds=settings.AUDIT_CHECKPOINT_MAX_LAG_SECONDS)
        if oldest is not None and timezone.now() - oldest > max_lag:
            cp_problems.append(
                f"no signed checkpoint covers events since {covered + 1} (written {format_at(oldest)}): "
                "checkpoints are not being written (is beat running? is AUDIT_CHECKPOINT_DIR lost?)"
            )
    key_ok = not key_problems
    checkpoints_ok = not cp_problems
    return VerifyResult(
        ok=not chain_problems and key_ok and checkpoints_ok and triggers_ok,
        events=check.events,
        head=check.head,
        first_bad_seq=first_bad,
        problem="; ".join([*chain_problems, *key_problems, *cp_problems, *trigger_problems]),
        key_ok=key_ok,
        checkpoints_ok=checkpoints_ok,
        triggers_ok=triggers_ok,
        checkpoints=len(store.items),
        keyed_from=keyed_from if keyed_from is not None else check.legacy + 1,
    )


def write_checkpoint(*, batch_size: int = 5000) -> checkpoints.Checkpoint | None:
    """Sign the chain's current head into the checkpoint store, if it moved since the latest checkpoint.

    Only what verifies is signed: the events since the latest checkpoint are checked against it (the whole
    chain for the first checkpoint, which also fixes where unkeyed events of an older install end).
    Raises ChainBroken otherwise. Serialised across processes by the store's lock."""
    with checkpoints.locked():
        latest = checkpoints.latest()
        if latest is not None and not latest.valid:
            raise ChainBroken(f"the latest checkpoint does not verify: {latest.problem}")
        with connection.cursor() as cursor:
            cursor.execute(_HEAD_SQL)
            head_row = cursor.fetchone()
        head_seq, head_hash = head_row if head_row else (0, GENESIS)
        if latest is None:
            check = _check_chain(_verify_rows(batch_size, high=head_seq), keyed_from=None)
            keyed_from = check.legacy + 1
        else:
            if head_seq < latest.seq:
                raise ChainBroken(
                    f"the chain ends at {head_seq}, before the latest checkpoint ({latest.seq})"
                )
            if latest.seq:
                stored = AuditEvent.objects.filter(seq=latest.seq).values_list("hash", flat=True).first()
                if stored != latest.head:
                    raise ChainBroken(f"event {latest.seq} is not the one the latest checkpoint names")
            if head_seq == latest.seq:
                return None
            keyed_from = latest.keyed_from
            rows = _verify_rows(batch_size, low=latest.seq, high=head_seq)
            check = _check_chain(rows, keyed_from=keyed_from, seq=latest.seq + 1, prev=latest.head)
        if check.first_bad is not None or check.last_seq != head_seq:
            raise ChainBroken(check.problem or f"the chain ends before its head ({head_seq})")
        return checkpoints.append(seq=head_seq, head=head_hash, keyed_from=keyed_from)


def export_lines(batch_size: int = 5000) -> Iterator[str]:
    """The whole chain as JSON Lines (one event per line, oldest first), streamed."""
    for row in _rows(batch_size):
        event = dict(zip(FIELDS, row, strict=True))
        event["at"] = format_at(event["at"])
        yield json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n"
