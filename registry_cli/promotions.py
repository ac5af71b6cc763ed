"""promote, rollback, status: request, then (with --wait) follow the promotion to a final state."""

from __future__ import annotations

import time
from typing import Any

from registry_cli import exits, output
from registry_cli.client import Api
from registry_cli.exits import CliError

FINAL = {"applied", "blocked", "rejected", "cancelled", "failed"}


def summary(p: dict[str, Any]) -> str:
    signed = sum(1 for a in p.get("approvals", []) if a.get("decision") == "approve")
    return (
        f"promotion {p['id']} ({p.get('kind', 'promote')}) {p['model']} v{p['version']} -> {p['target']}: "
        f"{p['state']}, {signed}/{p.get('required_approvals', '?')} signatures"
    )


def reasons(p: dict[str, Any]) -> list[str]:
    out = [
        f"gate {g['name']} {g['status']}: {g.get('detail') or ''}".rstrip(": ")
        for g in p.get("gates", [])
        if g.get("status") in ("failed", "error")
    ]
    for a in p.get("approvals", []):
        if a.get("decision") == "reject":
            out.append(f"rejected by {a['reviewer']}: {a.get('comment') or '(no comment)'}")
    if p.get("error"):
        out.append(f"error: {p['error']}")
    return out


def progress_lines(p: dict[str, Any], seen: set[str]) -> list[str]:
    """The lines not printed yet: each gate's result, each signature, then a state change (last: the outcome)."""
    events = []
    for g in p.get("gates", []):
        if g.get("status") != "pending":
            text = f"  gate {g['name']}: {g['status']} {g.get('detail') or ''}".rstrip()
            events.append((f"gate:{g['name']}:{g['status']}", text))
    for a in p.get("approvals", []):
        text = f"  {a['decision']} signed by {a['reviewer']} ({a.get('meaning')})"
        events.append((f"sig:{a['reviewer']}:{a['decision']}", text))
    events.append((f"state:{p['state']}", summary(p)))
    new = [text for key, text in events if key not in seen]
    seen.update(key for key, _ in events)
    return new


def wait(api: Api, p: dict[str, Any], *, timeout: float, interval: float, quiet: bool) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while True:
        if not quiet:
            for text in progress_lines(p, seen):
                output.line(text)
        if p["state"] in FINAL:
            return p
        if time.monotonic() >= deadline:
            raise CliError(
                f"Timed out after {timeout:g} s: {summary(p)} (it goes on on the server; "
                f"`registry status {p['id']} --wait` follows it).",
                exits.TIMEOUT,
            )
        time.sleep(interval)
        p = api.get(f"promotions/{p['id']}/")


def finish(p: dict[str, Any], *, as_json: bool, waited: bool) -> int:
    """Print the outcome and return the exit code: 0 applied (or not waited), else the state's code."""
    if as_json:
        output.emit_json(p)
    elif not waited:
        output.line(summary(p))
    code = exits.STATE_EXITS.get(p["state"], exits.OK)
    if waited and code == exits.OK and p["state"] != "applied":
        code = exits.ERROR
    if code != exits.OK and not as_json:
        for text in reasons(p) or [f"the promotion ended {p['state']}"]:
            output.line(f"  {text}")
    return code if (waited or p["state"] in exits.STATE_EXITS) else exits.OK


def follow(api: Api, p: dict[str, Any], args) -> int:
    if args.wait:
        p = wait(api, p, timeout=args.timeout, interval=args.interval, quiet=args.json)
    return finish(p, as_json=args.json, waited=args.wait)


def promote(api: Api, args) -> int:
    body = {"model": args.model, "version": args.version, "target": args.target}
    body["justification"] = args.justification
    return follow(api, api.post("promotions/", body), args)


def rollback(api: Api, args) -> int:
    body = {"model": args.model, "target": args.target, "justification": args.justification}
    if args.to_version is not None:
        body["to_version"] = args.to_version
    return follow(api, api.post("rollbacks/", body), args)


def status(api: Api, args) -> int:
    return follow(api, api.get(f"promotions/{args.id}/"), args)
