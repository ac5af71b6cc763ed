"""Extension points: other apps (approvals' drift detection, model cards' drafting) subscribe here in their
AppConfig.ready(), so the mirror does not import them. Hooks run after the sync's transaction committed;
one failing hook is logged and does not stop the others or fail the sync."""

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_after_sync: list[Callable] = []
_after_sync_failure: list[Callable] = []
_after_artifacts_read: list[Callable] = []
_after_card_drafted: list[Callable] = []


def after_sync(fn: Callable) -> Callable:
    """Register fn(sync_run_id=..., result=ApplyResult) to run after every successful sync."""
    if fn not in _after_sync:
        _after_sync.append(fn)
    return fn


def after_sync_failure(fn: Callable) -> Callable:
    """Register fn(sync_run_id=..., error=str) to run after every failed sync."""
    if fn not in _after_sync_failure:
        _after_sync_failure.append(fn)
    return fn


def after_artifacts_read(fn: Callable) -> Callable:
    """Register fn(version_ids=[...]) to run once a version's artifact facts (content hash, signature, flavors)
    have been read into the mirror: what waited for them (gates, drafted cards) can catch up."""
    if fn not in _after_artifacts_read:
        _after_artifacts_read.append(fn)
    return fn


def run_after_artifacts_read(**kwargs) -> None:
    for fn in list(_after_artifacts_read):
        try:
            fn(**kwargs)
        except Exception:
            log.exception("after_artifacts_read hook %s failed", fn)


def after_card_drafted(fn: Callable) -> Callable:
    """Register fn(version_ids=[...]) to run once a version's first model card revision is drafted (committed):
    what waited for the card (the `model_card_complete` gate) can catch up."""
    if fn not in _after_card_drafted:
        _after_card_drafted.append(fn)
    return fn


def run_after_card_drafted(**kwargs) -> None:
    for fn in list(_after_card_drafted):
        try:
            fn(**kwargs)
        except Exception:
            log.exception("after_card_drafted hook %s failed", fn)


def run_after_sync(**kwargs) -> None:
    for fn in list(_after_sync):
        try:
            fn(**kwargs)
        except Exception:  # a hook's bug must not fail the sync that already committed
            log.exception("after_sync hook %s failed", fn)


def run_after_sync_failure(**kwargs) -> None:
    for fn in list(_after_sync_failure):
        try:
            fn(**kwargs)
        except Exception:
            log.exception("after_sync_failure hook %s failed", fn)
