"""Packaging settings (packager/), read from the environment; README's configuration table says what each does.

- PACKAGE_SOFT_TIME_LIMIT / PACKAGE_TIME_LIMIT: a job's Celery limits in seconds (soft: the job fails with a
  sentence; hard: the task is killed and the lease gives the job back).
- PACKAGE_LEASE_SECONDS: how long a worker holds a job without a heartbeat (it renews every third of it);
  PACKAGE_SWEEP_SECONDS: how often beat gives expired jobs to another worker; PACKAGE_MAX_ATTEMPTS: how many
  workers may try before the job fails.
- PACKAGE_MAX_ARTIFACT_BYTES: model files over this are not downloaded (the job fails naming the limit).
- PACKAGE_PARITY_TOLERANCE: the largest absolute difference allowed between the package's and the original
  model's predictions (the policy's packaging tolerance, 1e-4 by default).
- PACKAGE_SANDBOX_CPU_SECONDS / _MEMORY_MB / _FILE_MB / _TIMEOUT_SECONDS: the limits of the sandboxed child
  process that loads, converts and validates a package (packager.formats.sandbox): CPU time, address space
  (torch, TensorFlow and onnxruntime reserve a few GB of it beyond what they use), largest file written, wall
  clock (kept under PACKAGE_SOFT_TIME_LIMIT). Past any of them the job fails with a sentence.
"""

from __future__ import annotations

from typing import Any


def packaging_settings(env: Any) -> dict[str, Any]:
    sweep_seconds = env.int("PACKAGE_SWEEP_SECONDS", default=30)
    return {
        "PACKAGE_SOFT_TIME_LIMIT": env.int("PACKAGE_SOFT_TIME_LIMIT", default=15 * 60),
        "PACKAGE_TIME_LIMIT": env.int("PACKAGE_TIME_LIMIT", default=16 * 60),
        "PACKAGE_LEASE_SECONDS": env.float("PACKAGE_LEASE_SECONDS", default=60.0),
        "PACKAGE_SWEEP_SECONDS": sweep_seconds,
        # CELERY_BEAT_SCHEDULE's entry of the sweep
        "PACKAGE_SWEEP_BEAT": {"task": "packager.tasks.sweep_package_jobs", "schedule": float(sweep_seconds)},
        "PACKAGE_MAX_ATTEMPTS": env.int("PACKAGE_MAX_ATTEMPTS", default=3),
        "PACKAGE_MAX_ARTIFACT_BYTES": env.int("PACKAGE_MAX_ARTIFACT_BYTES", default=2 * 1024**3),
        "PACKAGE_PARITY_TOLERANCE": env.float("PACKAGE_PARITY_TOLERANCE", default=1e-4),
        "PACKAGE_SANDBOX_CPU_SECONDS": env.int("PACKAGE_SANDBOX_CPU_SECONDS", default=1200),
        "PACKAGE_SANDBOX_MEMORY_MB": env.int("PACKAGE_SANDBOX_MEMORY_MB", default=8192),
        "PACKAGE_SANDBOX_FILE_MB": env.int("PACKAGE_SANDBOX_FILE_MB", default=4096),
        "PACKAGE_SANDBOX_TIMEOUT_SECONDS": env.int("PACKAGE_SANDBOX_TIMEOUT_SECONDS", default=780),
    }
