import json
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from approvals.audit import services, triggers


class Command(BaseCommand):
    help = "Recompute every hash and link of the audit chain; exits 1 when it is broken."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of lines.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, **options):
        started = time.perf_counter()
        result = services.verify(batch_size=options["batch_size"])
        seconds = time.perf_counter() - started
        guarded = triggers.installed(connection)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict() | {"problem": result.problem, "triggers": guarded}))
        else:
            self.stdout.write(f"ok: {str(result.ok).lower()}")
            self.stdout.write(f"events: {result.events}")
            self.stdout.write(f"head: {result.head or 'null'}")
            self.stdout.write(
                f"first_bad_seq: {result.first_bad_seq if result.first_bad_seq is not None else 'null'}"
            )
            if result.problem:
                self.stdout.write(f"problem: {result.problem}")
            self.stdout.write(f"triggers: {'installed' if guarded else 'MISSING (run migrate)'}")
            self.stdout.write(f"seconds: {seconds:.3f}")
        if not result.ok:
            raise CommandError(
                f"audit chain broken at seq {result.first_bad_seq}: {result.problem}", returncode=1
            )
