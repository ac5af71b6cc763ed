from django.core.management.base import BaseCommand, CommandError

from audit import checkpoints
from audit.verification import ChainBroken, write_checkpoint


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head into AUDIT_CHECKPOINT_DIR now (beat does it every "
        "AUDIT_CHECKPOINT_INTERVAL_SECONDS). The first run on an older install anchors its unkeyed events."
    )

    def handle(self, *args, **options):
        try:
            checkpoint = write_checkpoint()
        except ChainBroken as exc:
            raise CommandError(f"not signed: {exc}", returncode=1) from exc
        if checkpoint is None:
            self.stdout.write(
                f"unchanged: the latest checkpoint already covers the head ({checkpoints.path()})"
            )
            return
        self.stdout.write(
            f"signed seq {checkpoint.seq} head {checkpoint.head} at {checkpoint.at} "
            f"(keyed from {checkpoint.keyed_from}) into {checkpoints.path()}"
        )
