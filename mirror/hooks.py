"""Extension points: other apps (approvals' drift detection, model cards' drafting) subscribe here in their
AppConfig.ready(), so the mirror does not import them. Hooks run after the sync's transaction committed;
one failing hook is logged and does not stop the others or fail the sync (or whatever ran before it)."""

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class _Hook:
    def __init__(self, name: str):
        self.name = name
        self.subscribers: list[Callable] = []

    def subscribe(self, fn: Callable) -> Callable:
        if fn not in self.subscribers:
            self.subscribers.append(fn)
        return fn

    def run(self, **kwargs) -> None:
        for fn in list(self.subscribers):
            try:
                fn(**kwargs)
            except Exception:  # a hook's bug must not fail the work that already committed
                log.exception("%s hook %s failed", self.name, fn)


_sync = _Hook("after_sync")
_sync_failure = _Hook("after_sync_failure")
_artifacts_read = _Hook("after_artifacts_read")
_card_drafted = _Hook("after_card_drafted")
_package_finished = _Hook("after_package_finished")
_after_sync = _sync.subscribers  # who subscribed, in order (tests look)

# Register fn(sync_run_id=..., result=ApplyResult) to run after every successful sync.
after_sync = _sync.subscribe
run_after_sync = _sync.run
# Register fn(sync_run_id=..., error=str) to run after every failed sync.
after_sync_failure = _sync_failure.subscribe
run_after_sync_failure = _sync_failure.run
# Register fn(version_ids=[...]) to run once a version's artifact facts (content hash, signature, flavors)
# have been read into the mirror: what waited for them (gates, drafted cards) can catch up.
after_artifacts_read = _artifacts_read.subscribe
run_after_artifacts_read = _artifacts_read.run
# Register fn(version_ids=[...]) to run once a version's first model card revision is drafted (committed):
# what waited for the card (the `model_card_complete` gate) can catch up.
after_card_drafted = _card_drafted.subscribe
run_after_card_drafted = _card_drafted.run
# Register fn(version_ids=[...]) to run once a packaging job of a version ended, succeeded or failed (committed):
# what waited for it (the `package_valid` gate) can catch up.
after_package_finished = _package_finished.subscribe
run_after_package_finished = _package_finished.run
