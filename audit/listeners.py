"""Listeners of the audit chain: code above the chain that must act on an event as it is recorded (the
outbound events' outbox writes its delivery rows in the very transaction that records the event).

A layer above registers a callable in its AppConfig.ready(); `record` calls each with the new event, inside the
caller's transaction, so what a listener writes commits or rolls back with the event. A listener must be quick
and must not call the network: most events concern it not at all, so it should decide that from the action alone.
"""

from __future__ import annotations

from collections.abc import Callable

from audit.models import AuditEvent

Listener = Callable[[AuditEvent], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call `listener(event)` for every event recorded from now on (once, however often it is registered)."""
    if listener not in _listeners:
        _listeners.append(listener)


def notify(event: AuditEvent) -> None:
    for listener in tuple(_listeners):
        listener(event)
