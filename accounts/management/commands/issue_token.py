from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from common.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create a new API token for USERNAME and print its key, alone on the last line. The key is shown "
        "this once (only its hash is stored): run the command again for another token."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="issued by manage.py issue_token", help="the token's name")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="default: API_TOKEN_DEFAULT_DAYS"
        )

    def handle(self, *args, username, name, expires_in_days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            issued = services.token_create(
                user=user, actor="manage.py issue_token", name=name, expires_in_days=expires_in_days
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        expiry = issued.token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        self.stdout.write(f"Token {issued.token.name!r} of {username}, expires {expiry}. Key (shown once):")
        self.stdout.write(issued.key)
