from django.apps import AppConfig


class PackagerConfig(AppConfig):
    name = "packager"
    label = "packager"
    verbose_name = "Packaging"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready.
        # Importing the tasks registers them with the Celery app (services enqueue by name: common.queue).
        from mirror import slots
        from packager import panels, tasks  # noqa: F401

        slots.provide("version_detail.card", panels.version_packages)
