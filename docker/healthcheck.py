"""Docker healthcheck of the web service: GET /healthz on the local gunicorn, exit 0 if it answers 200."""

import sys
import urllib.request

request = urllib.request.Request(
    "http://127.0.0.1:8000/healthz",
    # 127.0.0.1 is in ALLOWED_HOSTS (docker-compose.yml); /healthz is exempt from the https redirect.
    headers={"Host": "127.0.0.1"},
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure means unhealthy
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
