from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "cards"
    label = "cards"
    verbose_name = "Model cards"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready.
        # Importing the tasks registers them with the Celery app (bulk.py enqueues by name: common.queue).
        from cards import panels, services, tasks
        from mirror import hooks, slots

        hooks.after_sync(tasks.draft_new_version_cards)
        hooks.after_artifacts_read(services.refresh_generated_sections)
        slots.provide("version_detail.card", panels.version_card)
        slots.provide("model_detail.versions", panels.version_meters)
