"""common.prefetch, which the full sync reads through: items in order, the producer's error raised in the consumer,
and a consumer that stops early stops the producer."""

import threading

import pytest

from common.prefetch import prefetched

pytestmark = pytest.mark.postgres_pass_only  # no database


def test_items_arrive_in_order_produced_in_another_thread():
    producers = []

    def numbers():
        for n in range(10):
            producers.append(threading.current_thread())
            yield n

    assert list(prefetched(numbers(), depth=2)) == list(range(10))
    assert threading.current_thread() not in producers


def test_an_error_of_the_producer_is_raised_in_the_consumer_after_the_items_before_it():
    def failing():
        yield 1
        raise ConnectionError("gone")

    seen = []
    with pytest.raises(ConnectionError, match="gone"):
        for item in prefetched(failing()):
            seen.append(item)
    assert seen == [1]


def test_a_consumer_that_stops_early_stops_the_producer_and_its_exit_runs():
    produced, exited = [], threading.Event()

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    with pytest.raises(RuntimeError):
        for item in prefetched(endless(), depth=2, on_exit=exited.set):
            if item == 3:
                raise RuntimeError("the consumer failed")
    assert exited.is_set()  # the producer's thread ended before the error reached us
    assert len(produced) <= 3 + 1 + 2 + 1  # at most `depth` items (and the one in hand) beyond the consumer
