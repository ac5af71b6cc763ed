from django.apps import AppConfig


class MirrorConfig(AppConfig):
    name = "mirror"
    label = "registry_ui"  # the label holds the tables (registry_ui_*) and the migration history
    verbose_name = "Registry mirror"
