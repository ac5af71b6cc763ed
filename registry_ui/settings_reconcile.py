"""The reconcile's settings (mirror.reconcile), read from the environment; README's configuration table says what
each does.

- RECONCILE_INTERVAL_SECONDS: how often beat runs the incremental reconcile (what changed since the watermark).
- RECONCILE_FULL_SWEEP_SECONDS: how often beat runs the full sweep, a full read that catches what the
  incremental cannot see (a version tag changed while its webhook was lost, a metric logged to an ended run).
- RECONCILE_OVERLAP_SECONDS: how far behind the watermark each reconcile reads again (MLflow replicas whose
  clocks differ, writes committed after the time they stamped, run end times stamped by clients' clocks).
"""

from __future__ import annotations

from typing import Any


def reconcile_settings(env: Any) -> dict[str, Any]:
    interval = env.int("RECONCILE_INTERVAL_SECONDS", default=60)
    sweep = env.int("RECONCILE_FULL_SWEEP_SECONDS", default=3600)
    return {
        "RECONCILE_INTERVAL_SECONDS": interval,
        "RECONCILE_FULL_SWEEP_SECONDS": sweep,
        "RECONCILE_OVERLAP_SECONDS": env.float("RECONCILE_OVERLAP_SECONDS", default=120.0),
        # CELERY_BEAT_SCHEDULE's entries
        "RECONCILE_BEAT": {
            "reconcile-registry": {
                "task": "registry_ui.tasks.reconcile_registry",
                "schedule": float(interval),
            },
            "sweep-registry": {"task": "registry_ui.tasks.sweep_registry", "schedule": float(sweep)},
        },
    }
