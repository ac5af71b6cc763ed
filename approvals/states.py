"""Which action is allowed from which promotion state: the one table the services, the pages and the API use.

Pure: plain strings and frozen sets (the values of `Promotion.State`), no database. The services refuse an action
the table does not allow (409); the promotion page shows a button only where the table allows its action.
Who may act (requester, staff, an eligible signer) is `approvals.eligibility`; this is only about the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

CHECKING: Final = "checking"
AWAITING_APPROVAL: Final = "awaiting_approval"
BLOCKED: Final = "blocked"
APPROVED: Final = "approved"
APPLYING: Final = "applying"
APPLIED: Final = "applied"
REJECTED: Final = "rejected"
CANCELLED: Final = "cancelled"
FAILED: Final = "failed"

# Actions on a promotion.
RUN_GATES: Final = "run_gates"  # the gate run (a task) evaluates the gates
APPROVE: Final = "approve"  # a signed approval
REJECT: Final = "reject"  # a signed rejection
CANCEL: Final = "cancel"  # the requester or staff end it
RERUN_GATES: Final = "rerun_gates"  # back to checking, the gates run again
RETRY_APPLY: Final = "retry_apply"  # the failed apply is tried again now
APPLY: Final = "apply"  # the outbox worker writes it to MLflow

ALLOWED: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        RUN_GATES: frozenset({CHECKING}),
        APPROVE: frozenset({AWAITING_APPROVAL}),
        REJECT: frozenset({AWAITING_APPROVAL, BLOCKED, CHECKING}),
        CANCEL: frozenset({CHECKING, AWAITING_APPROVAL, BLOCKED, APPROVED, FAILED}),
        RERUN_GATES: frozenset({BLOCKED, AWAITING_APPROVAL}),
        RETRY_APPLY: frozenset({FAILED}),
        APPLY: frozenset({APPROVED, APPLYING, FAILED}),
    }
)

# States in which something is still moving without a person: the page polls them.
LIVE: Final = frozenset({CHECKING, APPROVED, APPLYING})


def allowed(action: str, state: str) -> bool:
    """Whether `action` is allowed on a promotion in `state` (an unknown action is never allowed)."""
    return state in ALLOWED.get(action, frozenset())


def recheck_action(state: str) -> str | None:
    """What "re-check" does in this state: re-run the gates, retry the failed apply, or nothing (None)."""
    for action in (RERUN_GATES, RETRY_APPLY):
        if allowed(action, state):
            return action
    return None


def is_live(state: str) -> bool:
    """Whether the promotion is still moving on its own (gates running, apply pending)."""
    return state in LIVE
