from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from audit.roles import APPROVERS, AUDITORS, ML_ENGINEERS, REVIEWERS, STAFF

# One user per role (API.md "Roles"); two approvers so the production quorum of 2 can be reached.
DEMO_USERS = [
    ("admin", f"{STAFF} (administers targets, policy, users, sync)", None, True),
    ("alice", f"{ML_ENGINEERS} (requests promotions; author of most demo runs)", ML_ENGINEERS, False),
    ("bob", f"{ML_ENGINEERS} (author of some demo runs)", ML_ENGINEERS, False),
    ("rita", f"{REVIEWERS} (approves staging)", REVIEWERS, False),
    ("ann", f"{APPROVERS} (approves production)", APPROVERS, False),
    ("arthur", f"{APPROVERS} (approves production)", APPROVERS, False),
    ("audrey", f"{AUDITORS} (reads and exports everything)", AUDITORS, False),
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
