"""Audit-chain benchmark: append 100,000 events through `record` and verify the whole chain.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_governance .venv/bin/python bench/audit.py
    .venv/bin/python bench/audit.py --events 10000 --single 500      # a quick run

Runs standalone: creates a throwaway PostgreSQL database beside the one DATABASE_URL names, migrates it
(so the append-only triggers are in place), and drops it at the end. Two append modes, both through
`audit.services.record` (advisory lock, head read, insert):
  - batched: `--batch` events per transaction (how a sync or a bulk import would write), for `--events`;
  - single: one event per transaction (how a request writes), for a `--single` sample.
Then a checkpoint over the batched events (what beat signs) and `verify()` over the whole chain (keyed
hashes, links, both checkpoints, triggers). Prints `append_events_per_s` (batched),
`append_single_events_per_s`, `checkpoint_seconds`, `verify_seconds` and `verify_events_per_s`. Targets: append >= 1,000 events/s, verify 100,000 in <= 5 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import Timer, bench_environment, emit, note


def payload(i: int) -> dict:
    # Roughly what a gate result or a signature carries.
    return {
        "model": "credit-default-classifier",
        "version": i % 50 + 1,
        "target": "production",
        "gate": "beats_current",
        "status": "passed" if i % 3 else "failed",
        "observed": f"roc_auc={0.8 + (i % 100) / 1000:.3f} vs 0.850 (v12)",
        "detail": "roc_auc 0.871 beats 0.850 of v12 (maximize).",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000, help="events appended in batches")
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction in the batched mode")
    parser.add_argument("--single", type=int, default=2000, help="events appended one per transaction")
    args = parser.parse_args()

    with bench_environment():
        from django.conf import settings
        from django.db import connection, transaction

        # Production runs with DEBUG off; with it on, Django logs every query (about 2x the client cost here).
        settings.DEBUG = False

        from audit.models import AuditEvent
        from audit.services import record
        from audit.verification import verify, write_checkpoint

        # A private checkpoint store: the throwaway database's chain must not meet another chain's checkpoints.
        settings.AUDIT_CHECKPOINT_DIR = Path(tempfile.mkdtemp(prefix="bench-audit-checkpoints-"))

        note(
            f"database vendor: {connection.vendor}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )

        def append(i: int, action: str) -> None:
            record(actor="bench", action=action, object_type="promotion", object_id=str(i), data=payload(i))

        with Timer() as single:
            for i in range(args.single):
                append(i, "bench.single")

        first_checkpoint = write_checkpoint()
        cpu_before = time.process_time()
        with Timer() as batched:
            done = 0
            while done < args.events:
                with transaction.atomic():
                    for i in range(done, min(done + args.batch, args.events)):
                        append(i, "bench.batched")
                done = min(done + args.batch, args.events)

        append_cpu = time.process_time() - cpu_before
        # What beat does every minute, here over every event appended since the first checkpoint.
        with Timer() as signing:
            checkpoint = write_checkpoint()
        total = AuditEvent.objects.count()
        cpu_before = time.process_time()
        with Timer() as verifying:
            result = verify()
        verify_cpu = time.process_time() - cpu_before
        if not result.ok or result.events != total or result.checkpoints != 2:
            raise SystemExit(f"verification failed: {result}")

        note(f"{args.single} single-transaction appends in {single.seconds:.1f} s")
        note(f"{args.events} appends in batches of {args.batch} in {batched.seconds:.1f} s")
        note(f"verified {result.events} events in {verifying.seconds:.2f} s (head {result.head[:16]}...)")
        emit("events", result.events)
        emit("append_events_per_s", args.events / batched.seconds)
        emit("append_single_events_per_s", args.single / single.seconds)
        emit("verify_seconds", verifying.seconds)
        emit("checkpoint_seconds", signing.seconds)
        emit("checkpoint_events", checkpoint.seq - first_checkpoint.seq)
        emit("verify_events_per_s", result.events / verifying.seconds)
        # Client-side CPU per event: what the figures would approach on an idle machine (server time excluded).
        emit("append_client_cpu_us_per_event", append_cpu / args.events * 1e6)
        emit("verify_client_cpu_seconds", verify_cpu)
        note(f"load average now {os.getloadavg()[0]:.1f}")
        emit("append_target_met", args.events / batched.seconds >= 1000)
        emit("verify_target_met", verifying.seconds * 100_000 / max(result.events, 1) <= 5.0)


if __name__ == "__main__":
    main()
