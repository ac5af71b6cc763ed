"""The demo's receiver of outbound events (`make run` subscribes it) verifies what the worker sends and refuses a
delivery signed with another secret."""

import threading

import pytest

from audit import services as audit
from demo.receiver import make_server
from events import sending, subscriptions
from events.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_receiver():
    lines = []
    server = make_server("127.0.0.1", 0, "demo-receiver-secret-0123456789", log=lines.append)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], lines
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("secret", "outcome", "code"),
    [
        ("demo-receiver-secret-0123456789", "succeeded", 200),
        ("another-secret-0123456789abcdef", "retry", 401),
    ],
)
def test_the_demo_receiver_verifies_deliveries(demo_receiver, settings, secret, outcome, code):
    port, lines = demo_receiver
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    subscriptions.create(
        actor="demo",
        data={"url": f"http://127.0.0.1:{port}/events", "events": ["drift.detected"], "secret": secret},
    )
    audit.record(actor="system", action="drift.detected", object_type="drift", object_id="1",
                 data={"model": "churn", "target": "production"})  # fmt: skip
    d = Delivery.objects.get()
    assert sending.deliver(delivery_pk=d.pk)[0] == outcome
    d.refresh_from_db()
    assert d.last_status_code == code
    assert ("signature verified" in lines[-1]) is (code == 200)
