"""The Redis broker transport: kombu's, with one difference that keeps a worker alive through a Redis restart.

When a worker loses Redis, Celery closes the lost connection, which detaches it from its transport. A channel of
that connection is still used afterwards: closing it tries to put its unacknowledged messages back, and a task
that was running (acknowledged late, after it finishes) acknowledges its message on it. On a detached channel
kombu fails with AttributeError, which Celery takes for an unrecoverable error: the worker exits (found by the
fault suite, tests/faults/test_redis_faults.py, with Celery 5.7 and kombu 5.7). Here it is a connection error,
which Celery expects there: it logs it and goes on with the new connection. Nothing is lost by not putting
those messages back or acknowledging them: Redis keeps an unacknowledged message until its visibility timeout
(a restarted Redis without persistence has lost it anyway), the tasks are idempotent, and the beat sweeps re-drive
the work they carried. Settings use it for a redis:// broker; a rediss:// one keeps kombu's transport, which
derives its TLS settings from that scheme."""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("this channel's broker connection was closed (lost and replaced)")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
