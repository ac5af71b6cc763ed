"""A signed MLflow webhook delivery, posted to our receiver as MLflow sends it."""

import time
import uuid

from common.webhook_signing import sign


def post_webhook(client, body: bytes, *, secret: str, delivery_id: str | None = None, timestamp=None):
    delivery_id = delivery_id or str(uuid.uuid4())
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    return client.post(
        "/webhooks/mlflow/",
        data=body,
        content_type="application/json",
        HTTP_X_MLFLOW_DELIVERY_ID=delivery_id,
        HTTP_X_MLFLOW_TIMESTAMP=timestamp,
        HTTP_X_MLFLOW_SIGNATURE=sign(secret, delivery_id, timestamp, body),
    )
