"""The Redis transport keeps a worker alive through a Redis restart: an operation on a channel whose connection
Celery closed after losing Redis (restoring its unacknowledged messages, a late acknowledgement) is a connection
error, which Celery logs and survives, where kombu's own transport raises AttributeError and the worker exits."""

from __future__ import annotations

import pytest
from kombu import Connection

from registry_ui.broker import Transport
from tests.support.faults import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


def _detached_channel(url: str, transport: str):
    connection = Connection(url, transport=transport)
    channel = connection.default_channel
    connection.collect()  # what Celery does with the connection it lost
    return channel


def test_a_channel_of_a_lost_connection_fails_with_a_connection_error(redis_server):
    channel = _detached_channel(redis_server.url, "registry_ui.broker:Transport")
    with pytest.raises(Transport.connection_errors):
        with channel.conn_or_acquire():
            pass


def test_kombus_own_transport_fails_there_with_an_attribute_error(redis_server):
    """Why registry_ui.broker exists: if kombu fixes this, that module can go."""
    channel = _detached_channel(redis_server.url, "redis")
    with pytest.raises(AttributeError):
        with channel.conn_or_acquire():
            pass
