"""Issue 8 item 13: changes to who holds a role (groups, staff, superuser; from the admin, the group side or
outside a request) are on the audit chain; a login is not."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from audit.verification import verify

pytestmark = pytest.mark.django_db


def _role_events() -> list[tuple[str, str, str, dict]]:
    return [
        (e.actor, e.action, e.object_id, e.data)
        for e in AuditEvent.objects.filter(action__startswith="user.").order_by("seq")
    ]


def _admin_change_form(user, **changes) -> dict:
    """The admin's user change form as a browser posts it, with `changes` applied."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_adding_and_removing_groups_in_the_admin_is_audited_with_the_admin_as_actor(admin_client, make_user):
    from django.contrib.auth.models import Group

    ann = make_user("ann", "ml-engineers")
    mark = AuditEvent.objects.count()
    approvers = Group.objects.get(name="approvers")
    url = f"/admin/auth/user/{ann.pk}/change/"
    groups = [str(pk) for pk in ann.groups.values_list("pk", flat=True)] + [str(approvers.pk)]
    response = admin_client.post(url, _admin_change_form(ann, groups=groups))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(ann.groups.values_list("name", flat=True)) == {"ml-engineers", "approvers"}
    response = admin_client.post(url, _admin_change_form(ann, groups=[str(approvers.pk)]))
    assert response.status_code == 302

    events = [e for e in _role_events() if e[2] == "ann"][-2:]
    assert [(actor, action, data["groups"], data["via"]) for actor, action, _, data in events] == [
        ("root", "user.groups_added", ["approvers"], "user"),
        ("root", "user.groups_removed", ["ml-engineers"], "user"),
    ]
    assert AuditEvent.objects.count() == mark + 2
    assert verify().ok


def test_granting_and_revoking_staff_and_superuser_in_the_admin_is_audited(admin_client, make_user):
    bob = make_user("bob")
    url = f"/admin/auth/user/{bob.pk}/change/"
    assert (
        admin_client.post(url, _admin_change_form(bob, is_staff="on", is_superuser="on")).status_code == 302
    )
    bob.refresh_from_db()
    assert admin_client.post(url, _admin_change_form(bob, is_superuser="")).status_code == 302
    bob.refresh_from_db()
    no_role_change = _admin_change_form(bob, first_name="Bob")
    assert admin_client.post(url, no_role_change).status_code == 302

    events = [e for e in _role_events() if e[2] == "bob" and e[1] == "user.flags_changed"]
    assert [
        (actor, {k: v for k, v in data.items() if k.startswith("is_")}) for actor, _, _, data in events
    ] == [
        (
            "root",
            {"is_staff": {"from": False, "to": True}, "is_superuser": {"from": False, "to": True}},
        ),
        ("root", {"is_superuser": {"from": True, "to": False}}),
    ]


def test_a_user_created_in_the_admin_with_groups_is_audited(admin_client):
    from django.contrib.auth.models import Group, User

    response = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "carol",
            "password1": "a-Long-pass-phrase-42",
            "password2": "a-Long-pass-phrase-42",
            "usable_password": "true",
            "_continue": "Save",
        },  # fmt: skip
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    carol = User.objects.get(username="carol")
    auditors = Group.objects.get(name="auditors")
    form = _admin_change_form(carol, groups=[str(auditors.pk)], is_staff="on")
    assert admin_client.post(f"/admin/auth/user/{carol.pk}/change/", form).status_code == 302
    assert {
        (a, act, d.get("groups") and tuple(d["groups"])) for a, act, o, d in _role_events() if o == "carol"
    } == {
        ("root", "user.groups_added", ("auditors",)),
        ("root", "user.flags_changed", None),
    }


def test_membership_changed_from_the_group_side_or_outside_a_request_is_audited(make_user):
    from django.contrib.auth.models import Group

    dan, eve = make_user("dan"), make_user("eve")
    approvers = Group.objects.get(name="approvers")
    mark = AuditEvent.objects.count()
    approvers.user_set.add(dan, eve)
    approvers.user_set.remove(eve)
    approvers.user_set.clear()
    dan.groups.add(approvers)
    dan.groups.clear()
    got = [
        (actor, action, obj, data["groups"], data["via"]) for actor, action, obj, data in _role_events()[-6:]
    ]
    assert got == [
        ("system", "user.groups_added", "dan", ["approvers"], "group"),
        ("system", "user.groups_added", "eve", ["approvers"], "group"),
        ("system", "user.groups_removed", "eve", ["approvers"], "group"),
        ("system", "user.groups_removed", "dan", ["approvers"], "group"),
        ("system", "user.groups_added", "dan", ["approvers"], "user"),
        ("system", "user.groups_removed", "dan", ["approvers"], "user"),
    ]
    assert AuditEvent.objects.count() == mark + 6


def test_deleting_a_group_or_a_user_in_the_admin_is_audited(admin_client, make_user):
    from django.contrib.auth.models import Group

    temp = Group.objects.create(name="temp-approvers")
    gus = make_user("gus", "approvers")
    gus.groups.add(temp)
    response = admin_client.post(f"/admin/auth/group/{temp.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Group.objects.filter(name="temp-approvers").exists()
    response = admin_client.post(f"/admin/auth/user/{gus.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    removed, deleted = _role_events()[-2:]
    assert removed[:3] == ("root", "user.groups_removed", "gus")
    assert (removed[3]["groups"], removed[3]["via"]) == (["temp-approvers"], "group deleted")
    assert deleted[:3] == ("root", "user.deleted", "gus")
    assert (deleted[3]["groups"], deleted[3]["is_staff"]) == (["approvers"], False)
    assert verify().ok


def test_a_login_records_no_role_event(client, make_user):
    make_user("fay")
    mark = AuditEvent.objects.count()
    assert client.login(username="fay", password="pw-correct-horse")
    assert AuditEvent.objects.count() == mark
