"""Appending to the audit chain (canonical form and hashes: canonical.py; verifying: verification.py).

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

from django.db import connection, transaction
from django.utils import timezone

from audit import listeners
from audit.canonical import FIELDS, GENESIS, canonical_json, compute_hash, normalise
from audit.models import AuditEvent

# pg_advisory_xact_lock key: any constant no other code uses ("audit" in ASCII).
ADVISORY_LOCK_KEY = 0x6175646974
HEAD_SQL = "SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1"
_COLUMNS = ", ".join(FIELDS)
_PG_LOCK = f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"
_PG_HEAD_AND_TXID = (
    f"SELECT h.seq, h.hash, txid_current() FROM (SELECT 1) AS one LEFT JOIN LATERAL ({HEAD_SQL}) AS h ON true"
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


def _new_event(*, seq: int, prev_hash: str, **fields) -> AuditEvent:
    # timezone.now() is UTC with microseconds, which is what both databases keep.
    fields = dict(fields, seq=seq, at=timezone.now(), prev_hash=prev_hash)
    event = AuditEvent(**fields)
    event.hash = compute_hash(**fields)
    return event


def _pg_params(event: AuditEvent, data_json: str) -> list:
    return [data_json if name == "data" else getattr(event, name) for name in FIELDS]


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
        cursor.execute(HEAD_SQL)
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
            event = _record_pg(fields, data_json, in_caller_transaction=in_caller_transaction)
        else:
            event = _record_other(fields)
        listeners.notify(event)  # in the same transaction: what a listener writes commits with the event
        return event


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
