"""The roles of API.md ("Roles"): their group names and the checks every app makes with them.

One module at the bottom layer, so that every app may import it (the mirror's migration creates the groups,
the audit log's export is for auditors, the policy names the groups that sign). No Django import: the pure
policy parser uses the names too. A check takes a user (anything with `is_authenticated`, `is_staff` and a
`groups` manager, as Django's User).

- ml-engineers request promotions, edit model cards and start packaging;
- reviewers request promotions, edit model cards, start packaging and sign where a target's policy names them;
- approvers sign where a target's policy names them;
- auditors export the audit log, card exports and evidence packs (everyone who logs in reads everything);
- staff (Django's flag, not a group) may do what the groups may, except sign: only a group a target's
  policy names signs (`may_sign`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ML_ENGINEERS = "ml-engineers"
REVIEWERS = "reviewers"
APPROVERS = "approvers"
AUDITORS = "auditors"
# Every role group (created by the mirror's migration 0002_role_groups).
GROUPS = (ML_ENGINEERS, REVIEWERS, APPROVERS, AUDITORS)
STAFF = "staff"  # shown beside the groups; the user's is_staff flag, not a group

REQUESTERS = (ML_ENGINEERS, REVIEWERS)
CARD_EDITORS = (ML_ENGINEERS, REVIEWERS)
PACKAGERS = (ML_ENGINEERS, REVIEWERS)
EXPORTERS = (AUDITORS,)
# The groups a policy may name as a target's approver_groups, and the default when an override adds a target.
SIGNERS = (REVIEWERS, APPROVERS)
DEFAULT_SIGNERS = (APPROVERS,)


# Where group_names keeps its answer on the user object: a request's user lives one request, so a page that
# checks several roles (panels, nav) asks the database once, and no answer outlives the request.
_MEMO = "_role_group_names"


def group_names(user: Any) -> frozenset[str]:
    """The role groups (and any other groups) the user belongs to; none when logged out. One query per user
    object, memoised on it (`forget` drops it: audit.role_changes does when the user's groups change)."""
    if not user.is_authenticated:
        return frozenset()
    names = getattr(user, _MEMO, None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _MEMO, names)
    return names


def forget(user: Any) -> None:
    """Drop the memoised group names of this user object (its groups just changed)."""
    if getattr(user, _MEMO, None) is not None:
        delattr(user, _MEMO)


def staff_or_member(user: Any, groups: Iterable[str]) -> bool:
    """Logged in and staff, or a member of one of `groups` (no query for staff; `group_names` otherwise)."""
    return bool(user.is_authenticated and (user.is_staff or not group_names(user).isdisjoint(groups)))


def may_request(user: Any) -> bool:
    return staff_or_member(user, REQUESTERS)


def may_edit_cards(user: Any) -> bool:
    return staff_or_member(user, CARD_EDITORS)


def may_package(user: Any) -> bool:
    """Start packaging a version (auditors and approvers alone may not)."""
    return staff_or_member(user, PACKAGERS)


def may_export(user: Any) -> bool:
    """The audit log's export, bulk card exports and evidence packs."""
    return staff_or_member(user, EXPORTERS)


def may_sign(held: Iterable[str], approver_groups: Iterable[str]) -> bool:
    """Whether groups `held` (see `group_names`) include one that signs for a target (its approver_groups)."""
    return not set(held).isdisjoint(approver_groups)
