"""Which audit events go out under which name, and the bodies sent (pure: no database, no network).

Every event this app sends out is a state change the audit chain records already, so the chain is the one
source: an audit action maps to an outbound event name (a promotion applied whose kind is a rollback goes out
as `rollback.applied`). The packaging feature records `package.succeeded` / `package.failed` itself.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

EVENTS = (
    "promotion.requested",
    "promotion.approved",
    "promotion.applied",
    "promotion.rejected",
    "promotion.failed",
    "rollback.applied",
    "drift.detected",
    "card.revised",
    "package.succeeded",
    "package.failed",
)

# audit action -> outbound event (before the rollback split below)
AUDIT_ACTIONS = {
    "promotion.requested": "promotion.requested",
    "promotion.approved": "promotion.approved",
    "promotion.applied": "promotion.applied",
    "promotion.rejected": "promotion.rejected",
    "promotion.apply_failed": "promotion.failed",
    "drift.detected": "drift.detected",
    "card.revised": "card.revised",
    "package.succeeded": "package.succeeded",
    "package.failed": "package.failed",
}

_EMOJI = {
    "requested": ":inbox_tray:",
    "approved": ":white_check_mark:",
    "applied": ":rocket:",
    "rejected": ":no_entry:",
    "failed": ":x:",
    "detected": ":warning:",
    "revised": ":memo:",
    "succeeded": ":package:",
}


def event_name(action: str, data: dict[str, Any]) -> str | None:
    """The outbound event an audit action is, or None when it is not sent out."""
    name = AUDIT_ACTIONS.get(action)
    if name == "promotion.applied" and data.get("kind") == "rollback":
        return "rollback.applied"
    return name


def link(site_url: str, name: str, object_type: str, object_id: str, data: dict[str, Any]) -> str | None:
    """The page of this app the event is about (absolute), or None."""
    base = site_url.rstrip("/")
    if object_type == "promotion" and object_id.isdigit():
        return f"{base}/promotions/{object_id}/"
    if name == "drift.detected":
        return f"{base}/drift/"
    model, version = data.get("model"), data.get("version")
    if name == "card.revised" and "/" in object_id:
        model, _, version = object_id.rpartition("/")
        return f"{base}/models/{quote(model, safe='')}/versions/{version}/card/"
    if isinstance(model, str) and isinstance(version, int):
        return f"{base}/models/{quote(model, safe='')}/versions/{version}/"
    return None


def event_payload(
    *,
    name: str,
    seq: int,
    at: str,
    actor: str,
    object_type: str,
    object_id: str,
    data: dict,
    link: str | None,
) -> dict[str, Any]:
    """The JSON body of a delivery: MLflow-style `entity`/`action`, plus the event's audit coordinates."""
    entity, _, action = name.partition(".")
    return {
        "event": name,
        "entity": entity,
        "action": action,
        "timestamp": at,
        "actor": actor,
        "object": {"type": object_type, "id": object_id},
        "data": data,
        "audit_seq": seq,
        "link": link,
    }


def summary(payload: dict[str, Any]) -> str:
    """One line a person reads: what happened to what, by whom."""
    data = payload.get("data") or {}
    obj = payload.get("object") or {}
    what = ""
    if data.get("model"):
        what = str(data["model"])
        if data.get("version") is not None:
            what += f" v{data['version']}"
        if data.get("target"):
            what += f" → {data['target']}"
    elif obj.get("id"):
        what = f"{obj.get('type', '')} {obj['id']}".strip()
    if obj.get("type") == "promotion":
        what += f" (promotion #{obj.get('id')})"
    line = f"{payload.get('event')}: {what}".rstrip(": ")
    if data.get("error"):
        line += f" — {str(data['error'])[:300]}"
    return f"{line} by {payload.get('actor') or 'system'}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (Microsoft Teams and Mattermost read its `text` too)."""
    emoji = _EMOJI.get(str(payload.get("action")), ":bell:")
    text = f"{emoji} {_slack_escape(summary(payload))}"
    if payload.get("link"):
        text += f" <{payload['link']}|Open>"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"`{payload.get('event')}` · audit #{payload.get('audit_seq')}",
                    }
                ],
            },
        ],
    }


def body(payload: dict[str, Any], fmt: str) -> bytes:
    """The bytes sent (and signed) for a subscription of format `fmt`."""
    message = slack_message(payload) if fmt == "slack" else payload
    return json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
