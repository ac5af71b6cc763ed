from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals and audit"

    def ready(self):
        # Models are loaded only now: the workflow modules import them. Importing the tasks registers them with
        # the Celery app in every process (the workflow enqueues them by their pinned names: workflow.queue).
        from approvals import panels, policy, selectors, tasks  # noqa: F401
        from approvals.gate_packages import strictest_tolerance
        from approvals.workflow import drift, gating
        from cards import selectors as card_selectors
        from compare import holders
        from mirror import hooks, slots
        from packager import tolerance

        policy.validate_on_startup()
        hooks.after_sync(drift.on_sync)
        hooks.after_artifacts_read(gating.on_artifacts_read)
        hooks.after_card_drafted(gating.on_artifacts_read)
        hooks.after_package_finished(gating.on_artifacts_read)
        # Features on a version sit below governance: it tells them where sign-offs and targets come from.
        card_selectors.provide_signoffs(selectors.signoffs_for_version)
        # Governance's panels on the mirror's pages.
        slots.provide("dashboard", panels.dashboard)
        slots.provide("model.banner", panels.model_banner)
        slots.provide("version_detail.side", panels.version_promotions)
        # Looked up when asked: the comparison's holders follow the policy's targets.
        # A packaging job checks parity against the strictest tolerance of the model's package_valid gates.
        tolerance.provide(
            lambda model_name: strictest_tolerance(
                g for t in policy.get_policy().targets_for(model_name).values() for g in t.gates
            )
        )
        holders.provide_targets(
            lambda model_name: {
                t.name: t.mlflow() for t in policy.get_policy().targets_for(model_name).values()
            }
        )
