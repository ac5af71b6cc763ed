from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo tooling: the local MLflow process, seeded demo models, users and cards, and `devstack`."""

    name = "demo"
    verbose_name = "Demo tooling"
