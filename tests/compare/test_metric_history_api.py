"""`GET /api/v1/models/{name}/versions/{version}/metrics/{key}/history`: API.md's `[{step, timestamp, value}]`
with ISO-8601 UTC timestamps, although the mirror caches MLflow's epoch milliseconds."""

from __future__ import annotations

import pytest

from tests.factories import MetricHistoryFactory
from tests.support.compare import seed

pytestmark = pytest.mark.django_db

URL = "/api/v1/models/churn/versions/1/metrics/acc/history"


def test_history_timestamps_are_iso_8601_utc(api):
    mv = seed(n=1)[0]
    MetricHistoryFactory(
        run=mv.source_run,
        points=[
            {"step": 0, "timestamp": 1_700_000_000_000, "value": 0.5},
            {"step": 1, "timestamp": 1_700_000_000_250, "value": 0.75},
        ],
    )
    response = api.get(URL)
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"step": 0, "timestamp": "2023-11-14T22:13:20Z", "value": 0.5},
        {"step": 1, "timestamp": "2023-11-14T22:13:20.250000Z", "value": 0.75},
    ]
