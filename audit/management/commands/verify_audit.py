import json
import time

from django.core.management.base import BaseCommand, CommandError

from audit import verification


def _yes(value: bool, bad: str) -> str:
    return "ok" if value else bad


class Command(BaseCommand):
    help = (
        "Verify the audit chain: every keyed hash and link, the key, the signed checkpoints and the "
        "append-only triggers; exits 1 when any of them fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of lines.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, **options):
        started = time.perf_counter()
        result = verification.verify(batch_size=options["batch_size"])
        seconds = time.perf_counter() - started
        if options["json"]:
            body = result.as_dict() | {
                "problem": result.problem,
                "triggers": result.triggers_ok,
                "checkpoints": result.checkpoints,
                "keyed_from": result.keyed_from,
            }
            self.stdout.write(json.dumps(body))
        else:
            self.stdout.write(f"ok: {str(result.ok).lower()}")
            self.stdout.write(f"events: {result.events}")
            self.stdout.write(f"head: {result.head or 'null'}")
            self.stdout.write(
                f"first_bad_seq: {result.first_bad_seq if result.first_bad_seq is not None else 'null'}"
            )
            if result.problem:
                self.stdout.write(f"problem: {result.problem}")
            self.stdout.write(f"key: {_yes(result.key_ok, 'WRONG OR MISSING')}")
            self.stdout.write(
                f"checkpoints: {result.checkpoints} read, {_yes(result.checkpoints_ok, 'FAILED')}"
            )
            self.stdout.write(f"triggers: {'installed' if result.triggers_ok else 'MISSING (run migrate)'}")
            self.stdout.write(f"seconds: {seconds:.3f}")
        if not result.ok:
            raise CommandError(f"audit chain not verified: {result.problem}", returncode=1)
