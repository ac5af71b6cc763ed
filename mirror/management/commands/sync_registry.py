from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mirror.models import SyncRun
from mirror.sync import execute_sync


class Command(BaseCommand):
    help = "Full sync of the MLflow Model Registry into the mirror, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-progress", action="store_true", help="No progress bar (for logs).")

    def handle(self, *args, **options):
        bars: dict[str, tqdm] = {}
        show = not options["quiet_progress"]

        def progress(phase: str, done: int, total: int | None) -> None:
            if not show:
                return
            bar = bars.get(phase)
            if bar is None:
                bar = bars[phase] = tqdm(total=total, desc=f"{phase:>8}", unit=" " + phase, leave=True)
            if total is not None:
                bar.total = total
            bar.n = done
            bar.refresh()

        run = SyncRun.objects.create(kind=SyncRun.Kind.FULL, requested_by="manage.py")
        run = execute_sync(run.pk, progress=progress)
        for bar in bars.values():
            bar.close()
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"Sync #{run.pk} failed: {run.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Sync #{run.pk} succeeded in {run.duration_seconds:.2f} s: read {run.models_read} models, "
                f"{run.versions_read} versions, {run.runs_read} runs; created {run.created}, "
                f"updated {run.updated}, deleted {run.deleted}."
            )
        )
