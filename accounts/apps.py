from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self):
        # Imported here, not at the top: importing it registers the token scheme with drf-spectacular.
        from accounts import schema  # noqa: F401
