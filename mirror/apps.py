from django.apps import AppConfig


class MirrorConfig(AppConfig):
    name = "mirror"
    label = "registry_ui"  # the label holds the tables (registry_ui_*) and the migration history
    verbose_name = "Registry mirror"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready.
        # Importing the tasks registers them with the Celery app (the sync enqueues them by name: common.queue).
        from mirror import hooks, sync, tasks, versioning  # noqa: F401

        hooks.after_sync_failure(sync.record_sync_failure)
        # First of the after_artifacts_read hooks (this app is ready before cards and approvals): the version's
        # semantic label is stored before the card is refreshed with the facts.
        hooks.after_artifacts_read(versioning.on_artifacts_read)
        hooks.after_sync(versioning.backfill)
