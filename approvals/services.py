"""The workflow's entry points under their old module name, while callers move to `approvals.workflow.*`."""

from approvals.workflow.cancel import cancel
from approvals.workflow.drift import check_drift, on_sync
from approvals.workflow.gating import on_artifacts_read, recheck, run_gates
from approvals.workflow.outbox import apply, sweep_outbox
from approvals.workflow.requests import promotion_request
from approvals.workflow.rollback import rollback_default_version, rollback_request
from approvals.workflow.signatures import approval_grant, approval_reject

__all__ = [
    "apply",
    "approval_grant",
    "approval_reject",
    "cancel",
    "check_drift",
    "on_artifacts_read",
    "on_sync",
    "promotion_request",
    "recheck",
    "rollback_default_version",
    "rollback_request",
    "run_gates",
    "sweep_outbox",
]
