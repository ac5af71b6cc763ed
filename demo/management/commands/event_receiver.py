"""`python manage.py event_receiver`: the demo's receiver of outbound events (demo.receiver), until Ctrl-C."""

import os

from django.core.management.base import BaseCommand, CommandError

from demo.receiver import make_server


class Command(BaseCommand):
    help = "Receive outbound events on loopback, verify their signatures and print them."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--secret", default="", help="The subscription's secret (or EVENT_RECEIVER_SECRET)"
        )

    def handle(self, *args, host, port, secret, **options):
        secret = secret or os.environ.get("EVENT_RECEIVER_SECRET", "")
        if not secret:
            raise CommandError("Give the subscription's secret: --secret S or EVENT_RECEIVER_SECRET.")
        server = make_server(host, port, secret, log=lambda line: self.stdout.write(line, ending="\n"))
        self.stdout.write(f"Receiving outbound events at http://{host}:{port}/events")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
