from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready.
        from lineage import panels
        from mirror import slots

        slots.provide("version_detail.side", panels.version_link)
