"""Concurrent appends: many connections at once, a stale head, a rolled-back savepoint holding the chain lock —
the chain stays gap-free and valid, never forked."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from audit.models import AuditEvent
from audit.services import record
from audit.verification import verify

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.postgres_only  # skipped on other databases (tests/conftest.py)


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
        except BaseException as exc:  # reported below
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
