import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_ui.settings")

app = Celery("registry_ui")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def worker_command(*, queue: str | None = None, concurrency: int = 4, isolated: bool = False) -> list[str]:
    """The command line of a worker process for this app (devstack, tests and benchmarks start it).

    Threads, not prefork: the work is I/O-bound (MLflow, the database) and a 2-core machine runs several.
    `isolated` skips the chatter between workers (heartbeat, gossip, mingle) for a private test queue."""
    import sys

    command = [sys.executable, "-m", "celery", "-A", "registry_ui", "worker", "--pool=threads",
               f"--concurrency={concurrency}", "--loglevel=INFO"]  # fmt: skip
    if queue:
        command += ["-Q", queue]
    if isolated:
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    return command
