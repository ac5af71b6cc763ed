"""Who holds a role goes on the chain: group membership (either side of User.groups, and a group or user deleted)
and the staff and superuser flags, and every password change (never the hash), with the user who made the change
as the actor (see middleware.py).

Signals rather than the admin's save hooks: membership also changes from the Group side, from the shell, from
management commands and any future API; a hook on the user's admin page would miss all of those. The events
are appended inside the transaction that makes the change (the admin's), so they commit or roll back with it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save

from audit import roles
from audit.middleware import current_actor
from audit.services import record

FLAGS = ("is_staff", "is_superuser")


def _record_groups(user, group_names: list[str], *, added: bool, via: str) -> None:
    record(
        actor=current_actor(),
        action="user.groups_added" if added else "user.groups_removed",
        object_type="user",
        object_id=user.get_username(),
        data={"user_id": user.pk, "groups": sorted(group_names), "via": via},
    )


def groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if not reverse:
        roles.forget(instance)  # this user object's memoised groups are stale now
    if action == "pre_clear":
        related = instance.user_set if reverse else instance.groups
        instance._audit_cleared = set(related.values_list("pk", flat=True))
        return
    if action == "post_clear":
        pk_set = getattr(instance, "_audit_cleared", set())
    elif action not in ("post_add", "post_remove"):
        return
    if not pk_set:
        return
    added = action == "post_add"
    if reverse:  # group.user_set.add(...): one event per user, naming this group
        for user in model.objects.filter(pk__in=pk_set).order_by("pk"):
            _record_groups(user, [instance.name], added=added, via="group")
    else:
        names = list(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
        _record_groups(instance, names, added=added, via="user")


def remember_flags(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        return  # e.g. login's last_login update: no extra query
    old = sender.objects.filter(pk=instance.pk).values(*FLAGS).first() if instance.pk else None
    instance._audit_old_flags = old


def flags_changed(sender, instance, created, update_fields=None, **kwargs) -> None:
    if not hasattr(instance, "_audit_old_flags"):
        return
    old = instance._audit_old_flags or dict.fromkeys(FLAGS, False)
    del instance._audit_old_flags
    changes = {
        flag: {"from": old[flag], "to": getattr(instance, flag)}
        for flag in FLAGS
        if bool(getattr(instance, flag)) != bool(old[flag])
    }
    if not changes:
        return
    record(
        actor=current_actor(),
        action="user.flags_changed",
        object_type="user",
        object_id=instance.get_username(),
        data={"user_id": instance.pk, "created": bool(created), **changes},
    )


def remember_password(sender, instance, update_fields=None, **kwargs) -> None:
    if not instance.pk or (update_fields is not None and "password" not in update_fields):
        return
    instance._audit_old_password = (
        sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    )


def password_changed(sender, instance, created, **kwargs) -> None:
    """Every change of an existing user's password (the admin's form, `changepassword`, the user's own change, a
    hash written from the shell) goes on the chain with who did it — never the hash, old or new."""
    if not hasattr(instance, "_audit_old_password"):
        return
    old = instance._audit_old_password
    del instance._audit_old_password
    if created or old is None or old == instance.password:
        return
    actor = current_actor()
    record(
        actor=actor,
        action="user.password_changed",
        object_type="user",
        object_id=instance.get_username(),
        data={
            "user_id": instance.pk,
            "by_the_user": actor == instance.get_username(),
            "usable": instance.has_usable_password(),
        },
    )


def group_deleted(sender, instance, **kwargs) -> None:
    """Deleting a group removes it from every member, without an m2m signal: record each removal first."""
    for user in instance.user_set.order_by("pk"):
        _record_groups(user, [instance.name], added=False, via="group deleted")


def user_deleted(sender, instance, **kwargs) -> None:
    """Deleting a user takes every role they held (their membership rows go without an m2m signal)."""
    record(
        actor=current_actor(),
        action="user.deleted",
        object_type="user",
        object_id=instance.get_username(),
        data={
            "user_id": instance.pk,
            "groups": sorted(instance.groups.values_list("name", flat=True)),
            **{flag: bool(getattr(instance, flag)) for flag in FLAGS},
        },
    )


def connect() -> None:
    user_model = get_user_model()
    m2m_changed.connect(groups_changed, sender=user_model.groups.through, dispatch_uid="audit_user_groups")
    pre_save.connect(remember_flags, sender=user_model, dispatch_uid="audit_user_flags_before")
    post_save.connect(flags_changed, sender=user_model, dispatch_uid="audit_user_flags_after")
    pre_save.connect(remember_password, sender=user_model, dispatch_uid="audit_user_password_before")
    post_save.connect(password_changed, sender=user_model, dispatch_uid="audit_user_password_after")
    pre_delete.connect(group_deleted, sender=Group, dispatch_uid="audit_group_deleted")
    pre_delete.connect(user_deleted, sender=user_model, dispatch_uid="audit_user_deleted")
