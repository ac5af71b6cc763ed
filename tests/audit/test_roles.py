"""Role names are spelled once (audit/roles.py); the checks every app makes with them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from audit import roles

REPO = Path(__file__).resolve().parents[2]
# A role name as a string literal in code or a template (prose in docstrings and messages is fine).
_NAMES = "|".join(re.escape(g) for g in roles.GROUPS)
LITERAL = re.compile(rf"""["']({_NAMES})["']""")


def test_role_names_are_spelled_only_in_the_roles_module():
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.html"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    spelled = [
        f"{name}:{number}"
        for name in files
        if not name.startswith("tests/") and name != "audit/roles.py"
        for number, line in enumerate((REPO / name).read_text().splitlines(), 1)
        if LITERAL.search(line)
    ]
    assert spelled == []


@pytest.mark.django_db
def test_the_migration_creates_every_role_group():
    assert set(Group.objects.filter(name__in=roles.GROUPS).values_list("name", flat=True)) == set(
        roles.GROUPS
    )


@pytest.mark.django_db
def test_staff_and_group_members_pass_a_check_and_others_do_not(make_user):
    auditor = make_user("audrey-test", roles.AUDITORS)
    engineer = make_user("alice-test", roles.ML_ENGINEERS)
    staff = make_user("admin-test", staff=True)
    assert roles.may_export(auditor) and roles.may_export(staff) and not roles.may_export(engineer)
    assert roles.may_request(engineer) and roles.may_edit_cards(engineer) and not roles.may_request(auditor)
    assert not roles.may_export(AnonymousUser()) and roles.group_names(AnonymousUser()) == frozenset()


def test_only_a_group_the_target_names_signs():
    assert roles.may_sign({roles.REVIEWERS}, [roles.REVIEWERS, roles.APPROVERS])
    assert not roles.may_sign({roles.ML_ENGINEERS, roles.AUDITORS}, roles.SIGNERS)
    assert not roles.may_sign(frozenset(), roles.SIGNERS)


@pytest.mark.django_db
def test_the_nav_shows_the_export_pages_to_auditors_and_staff_only(client, make_user):
    def nav_links(user) -> tuple[bool, bool]:
        client.force_login(user)
        page = client.get("/").content.decode()
        return 'href="/cards/exports/"' in page, 'href="/evidence/"' in page

    assert nav_links(make_user("audrey-nav", roles.AUDITORS)) == (True, True)
    assert nav_links(make_user("admin-nav", staff=True)) == (True, True)
    assert nav_links(make_user("rita-nav", roles.REVIEWERS)) == (False, False)
