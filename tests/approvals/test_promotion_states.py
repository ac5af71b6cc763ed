"""The table of which action is allowed from which promotion state (approvals.states)."""

from __future__ import annotations

import pytest

from approvals import states
from approvals.models import Promotion

ALL_STATES = set(Promotion.State.values)

# (action, the states it is allowed from): the workflow as the services and the promotion page enforce it.
TABLE = [
    (states.RUN_GATES, {"checking"}),
    (states.APPROVE, {"awaiting_approval"}),
    (states.REJECT, {"awaiting_approval", "blocked", "checking"}),
    (states.CANCEL, {"checking", "awaiting_approval", "blocked", "approved", "failed"}),
    (states.RERUN_GATES, {"blocked", "awaiting_approval"}),
    (states.RETRY_APPLY, {"failed"}),
    (states.APPLY, {"approved", "applying", "failed"}),
]


def test_the_table_speaks_of_the_promotion_states_and_nothing_else():
    named = {getattr(states, n) for n in dir(states) if n.isupper() and isinstance(getattr(states, n), str)}
    assert ALL_STATES <= named
    for allowed_from in states.ALLOWED.values():
        assert allowed_from <= ALL_STATES
    assert states.LIVE <= ALL_STATES


@pytest.mark.parametrize(("action", "allowed_from"), TABLE, ids=[a for a, _ in TABLE])
def test_an_action_is_allowed_exactly_from_its_states(action, allowed_from):
    for state in ALL_STATES:
        assert states.allowed(action, state) is (state in allowed_from), (action, state)


def test_every_action_of_the_table_is_covered_here():
    assert {a for a, _ in TABLE} == set(states.ALLOWED)


@pytest.mark.parametrize("state", ["applied", "rejected", "cancelled"])
def test_a_finished_promotion_allows_no_action(state):
    assert not [a for a in states.ALLOWED if states.allowed(a, state)]


def test_an_unknown_action_is_never_allowed():
    assert not any(states.allowed("publish", s) for s in ALL_STATES)


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("blocked", "rerun_gates"),
        ("awaiting_approval", "rerun_gates"),
        ("failed", "retry_apply"),
        ("checking", None),
    ],
)
def test_recheck_reruns_the_gates_or_retries_the_failed_apply(state, action):
    assert states.recheck_action(state) == action


def test_the_page_polls_only_while_the_promotion_moves_on_its_own():
    assert {s for s in ALL_STATES if states.is_live(s)} == {"checking", "approved", "applying"}


def test_a_promotion_still_holding_its_slot_is_one_an_action_can_move():
    acting = set().union(*states.ALLOWED.values())
    assert set(Promotion.OPEN_STATES) == acting
