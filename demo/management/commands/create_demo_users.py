from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

# One user per role (API.md "Roles"); two approvers so the production quorum of 2 can be reached.
DEMO_USERS = [
    ("admin", "staff (administers targets, policy, users, sync)", None, True),
    ("alice", "ml-engineers (requests promotions; author of most demo runs)", "ml-engineers", False),
    ("bob", "ml-engineers (author of some demo runs)", "ml-engineers", False),
    ("rita", "reviewers (approves staging)", "reviewers", False),
    ("ann", "approvers (approves production)", "approvers", False),
    ("arthur", "approvers (approves production)", "approvers", False),
    ("audrey", "auditors (reads and exports everything)", "auditors", False),
]
DEMO_PASSWORD = "demo-pass-2026"


class Command(BaseCommand):
    help = "Create one demo user per role (idempotent) and print their credentials."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, password, **options):
        User = get_user_model()
        self.stdout.write(f"Demo users (password for all: {password})")
        for username, role, group, staff in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                user.set_password(password)
                user.is_staff = user.is_superuser = staff
                user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
            self.stdout.write(f"  {username:<8} {role}")
