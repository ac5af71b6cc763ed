from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Train the demo models on scikit-learn's bundled data and register them in MLflow "
        "(idempotent: does nothing when they are already there)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tracking-uri",
            default=None,
            help="MLflow server to seed (default: settings.MLFLOW_TRACKING_URI).",
        )

    def handle(self, *args, tracking_uri=None, **options):
        uri = tracking_uri or settings.MLFLOW_TRACKING_URI
        self.stdout.write(f"Seeding demo models into {uri}")
        try:
            summary = seed_demo(uri, log=self.stdout.write)
        except Exception as exc:  # MLflow down, refused request, ...: one clear line, not a traceback
            raise CommandError(f"Seeding {uri} failed: {exc}") from exc
        for name, model in summary["models"].items():
            versions = model["created"] or model["existing"]
            state = "created" if model["created"] else "already there"
            self.stdout.write(f"  {name}: versions {', '.join(versions)} ({state})")
        verdict = "Seeded" if summary["created"] else "Nothing to do"
        self.stdout.write(self.style.SUCCESS(f"{verdict} ({summary['seconds']:.1f} s)."))
