from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from approvals.policy import load_policy
from approvals.policy_parse import PolicyError


class Command(BaseCommand):
    help = "Validate the promotion policy file and print the effective targets (exit 1 when invalid)."
    requires_system_checks = []  # an invalid policy must be reported here, not stop the command at start-up

    def add_arguments(self, parser):
        parser.add_argument(
            "--path", help=f"Policy file (default: settings.POLICY_PATH = {settings.POLICY_PATH})"
        )
        parser.add_argument("--model", help="Also print the effective targets for this model name.")

    def handle(self, *args, **options):
        try:
            policy = load_policy(options["path"])
        except PolicyError as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(f"{policy.source}: ok (sha256 {policy.sha256[:16]}…)")
        self._print_targets("default targets", policy.targets)
        for override in policy.overrides:
            changes = ", ".join(
                f"{name}: removed" if change is None else f"{name}: {', '.join(sorted(change))}"
                for name, change in override.targets.items()
            )
            self.stdout.write(
                f"override (line {override.line}) for {', '.join(override.patterns)} → {changes}"
            )
        if options["model"]:
            self._print_targets(
                f"effective targets for {options['model']}", policy.targets_for(options["model"])
            )

    def _print_targets(self, title, targets):
        self.stdout.write(f"{title}:")
        for t in targets.values():
            where = f"alias {t.mlflow_alias}" if t.mlflow_alias else f"stage {t.mlflow_stage}"
            gates = ", ".join(g.type + (f"({g.params})" if g.params else "") for g in t.gates) or "none"
            self.stdout.write(
                f"  {t.name}: {where}; {t.approvals_required} approval(s) from {', '.join(t.approver_groups)}; "
                f"rollback {t.rollback_approvals}; on_drift {t.on_drift}; gates: {gates}"
            )
