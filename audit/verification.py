"""Verifying the audit chain (every hash, link, checkpoint and guard trigger), signing checkpoints over what
verifies, and exporting the chain. The scheme is described in services.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from audit import checkpoints, keys, triggers
from audit.canonical import FIELDS, GENESIS, format_at
from audit.models import AuditEvent
from audit.services import HEAD_SQL


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


def _compare_with_checkpoints(check: _ChainCheck, valid, problems: list[str], first_bad: int | None):
    """Each signed head must still be in the chain: appends what is not to `problems`; the first bad seq."""
    for cp in sorted(valid, key=lambda c: c.seq):
        if cp.seq == 0:
            continue
        if cp.seq > check.last_seq:
            missing = check.last_seq + 1
            problems.append(
                f"events {missing}..{cp.seq} are missing: the checkpoint signed at {cp.at} covers up to {cp.seq}"
            )
            return missing if first_bad is None else min(first_bad, missing)
        if check.heads.get(cp.seq) != cp.head:
            problems.append(
                f"event {cp.seq} is not the one the checkpoint signed at {cp.at} names (rewritten or replaced)"
            )
            return cp.seq if first_bad is None else min(first_bad, cp.seq)
    return first_bad


def _lag_problems(check: _ChainCheck, *, covered: int) -> list[str]:
    """No event older than AUDIT_CHECKPOINT_MAX_LAG_SECONDS may be left outside every checkpoint."""
    if check.last_seq <= covered:
        return []
    oldest = AuditEvent.objects.filter(seq=covered + 1).values_list("at", flat=True).first()
    max_lag = dt.timedelta(seconds=settings.AUDIT_CHECKPOINT_MAX_LAG_SECONDS)
    if oldest is None or timezone.now() - oldest <= max_lag:
        return []
    return [
        f"no signed checkpoint covers events since {covered + 1} (written {format_at(oldest)}): "
        "checkpoints are not being written (is beat running? is AUDIT_CHECKPOINT_DIR lost?)"
    ]


def verify(batch_size: int = 5000) -> VerifyResult:
    """Verify everything an auditor relies on, and say which part failed:

    - the chain: every hash (keyed) and link, reporting the first bad seq (a missing seq as that number);
    - the key: AUDIT_CHAIN_KEY is set and is the key that signed the checkpoints;
    - the checkpoints: each signature, each signed head still in the chain (catches the last events deleted,
      the table dropped or refilled), and no event older than AUDIT_CHECKPOINT_MAX_LAG_SECONDS left uncovered;
    - the guard triggers that make the database refuse UPDATE, DELETE and TRUNCATE are installed.
    """
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

    first_bad = _compare_with_checkpoints(check, valid, cp_problems, first_bad)
    if keyed_from is None and check.legacy:
        cp_problems.append(
            f"events 1..{check.legacy} are sealed without the key (written before AUDIT_CHAIN_KEY) and no "
            "signed checkpoint anchors them yet: run `manage.py audit_checkpoint` once"
        )
    if not cp_problems:
        cp_problems.extend(_lag_problems(check, covered=max(want, default=0)))
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
            cursor.execute(HEAD_SQL)
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
