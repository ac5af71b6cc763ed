from django.apps import AppConfig


class MirrorConfig(AppConfig):
    name = "mirror"
    label = "registry_ui"  # the label holds the tables (registry_ui_*) and the migration history
    verbose_name = "Registry mirror"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready.
        from common import queue
        from mirror import hooks, sync, tasks

        queue.register(tasks.run_sync_task, tasks.read_version_artifacts_task)
        hooks.after_sync_failure(sync.record_sync_failure)
