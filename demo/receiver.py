"""The demo's receiver of outbound events: a tiny HTTP server on loopback that verifies each delivery with the
one verifier of the webhook scheme (common.webhook_signing, as the MLflow receiver does) and prints it.

`make run` starts it and subscribes it to every event (its host is allowed through OUTBOUND_ALLOWED_HOSTS);
alone: `EVENT_RECEIVER_SECRET=S python manage.py event_receiver --port 8765`, then subscribe http://127.0.0.1:8765/events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import webhook_signing

MAX_BODY = 1024 * 1024


def make_server(host: str, port: int, secret: str, log: Callable[[str], None] = print) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # the http.server API names it
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, {"detail": "body too large"})
            body = self.rfile.read(length)
            try:
                verified = webhook_signing.verify(
                    webhook_signing.REGISTRY, self.headers, body, secret=secret, max_skew_seconds=300
                )
            except webhook_signing.SignatureError as exc:
                log(f"refused a delivery: {exc.detail}")
                return self._answer(exc.status, {"detail": exc.detail})
            try:
                event = json.loads(body)
            except ValueError:
                return self._answer(400, {"detail": "not JSON"})
            name = event.get("event") or "slack message"
            log(
                f"event {name} (delivery {verified.delivery_id}, signature verified): {event.get('text') or event.get('data')}"
            )
            return self._answer(200, {"received": verified.delivery_id})

        def _answer(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer((host, port), Handler)
