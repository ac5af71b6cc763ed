from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready. Importing the
        # tasks registers them with the Celery app.
        from approvals.workflow import evaluation
        from cards import selectors as cards_selectors
        from lineage import flags, panels, tasks
        from mirror import hooks, slots

        slots.provide("version_detail.side", panels.version_link)
        slots.provide("model.banner", panels.model_link)
        # Governance sits below lineage: it reads the flagged training data of a version from here.
        evaluation.provide_flagged_training_data(flags.flagged_training_data)
        hooks.after_sync(tasks.push_new_versions)
        # Cards sit below lineage: their exports show the version's lineage graph drawn here.
        cards_selectors.provide_lineage_image(panels.compact_svg)
