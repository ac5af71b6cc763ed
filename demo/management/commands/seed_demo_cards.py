from django.core.management.base import BaseCommand

from demo.cards import seed_demo_cards


class Command(BaseCommand):
    help = (
        "Write the demo model cards of the README's Try-it story as their authors' revisions "
        "(after the first sync; idempotent: a card anyone edited is left alone)."
    )

    def handle(self, *args, **options):
        written = seed_demo_cards(log=self.stdout.write)
        self.stdout.write(f"Demo cards written: {len(written)}.")
