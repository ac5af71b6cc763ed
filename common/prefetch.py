"""Iterate in a background thread, a few items ahead of the consumer: while the consumer works on one item (writes
it to the database), the producer already waits for the next one (an answer over the network)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(
    items: Iterator[T], *, depth: int = 2, on_exit: Callable[[], object] | None = None, name: str = "prefetch"
) -> Iterator[T]:
    """The items of `items`, produced in a thread of their own at most `depth` ahead. An error of the producer is
    raised in the consumer, at the item it would have produced; a consumer that stops early (an error of its own,
    or simply leaving the loop) stops the producer, which finishes the item it is on. `on_exit` runs in the
    producer's thread when it ends (e.g. closing that thread's database connections)."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, raised there
            put(_Failed(error))
        finally:
            if on_exit is not None:
                on_exit()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            value = handoff.get()
            if value is _DONE:
                return
            if isinstance(value, _Failed):
                raise value.error
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
