"""Loaded into a real worker process (`celery worker --include tests.faults.stall`) by the fault suite: when
FAULT_STALL names a step in the worker's environment, the worker stops there long enough for the test to
SIGKILL it, after logging `FAULT-STALL <step> <id>`:

- `gates`: inside the gate run's transaction, the promotion row locked, the gates evaluated but nothing written;
- `apply`: right after MLflow took the alias, before the outbox item records the outcome."""

from __future__ import annotations

import logging
import os
import time

from approvals.workflow import gating
from mirror import gateway

log = logging.getLogger("faults.stall")
STEP = os.environ.get("FAULT_STALL", "")


def _stall(step: str, ident: object) -> None:
    log.warning("FAULT-STALL %s %s", step, ident)
    time.sleep(120)  # killed here


if STEP == "gates":
    _evaluate = gating.evaluate

    def evaluate(p, specs, inp, now):
        rows = _evaluate(p, specs, inp, now)
        _stall("gates", p.pk)
        return rows

    gating.evaluate = evaluate

if STEP == "apply":
    _set_alias = gateway.set_alias

    def set_alias(name, alias, version):
        _set_alias(name, alias, version)
        _stall("apply", f"{name}:{alias}:{version}")

    gateway.set_alias = set_alias
