from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "registry_ui.cards"
    label = "cards"
    verbose_name = "Model cards"
