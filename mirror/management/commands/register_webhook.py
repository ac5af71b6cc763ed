from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mirror import gateway


class Command(BaseCommand):
    help = "Register (or update) this app's webhook receiver in MLflow for the six model-registry events."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="Public URL of /webhooks/mlflow/ as MLflow reaches it."
        )
        parser.add_argument("--name", default="registry-governance")

    def handle(self, *args, url, name, **options):
        try:
            hook_id, created = gateway.register_webhook(url, settings.MLFLOW_WEBHOOK_SECRET, name=name)
        except (MlflowUnavailable, MlflowRejected, MlflowNotFound) as exc:
            raise CommandError(f"Could not register the webhook: {exc}") from exc
        verb = "Registered" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} webhook {hook_id} → {url} ({len(gateway.REGISTRY_EVENTS)} events)")
        )
