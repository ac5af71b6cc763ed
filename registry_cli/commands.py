"""models, versions, compare, card export, evidence, package, audit verify."""

from __future__ import annotations

import time
from typing import Any

from registry_cli import exits, output
from registry_cli.client import Api, segment
from registry_cli.exits import CliError


def models(api: Api, args) -> int:
    params = {"search": args.search} if args.search else {}
    items = api.pages("models/", **params)
    if args.json:
        output.emit_json(items)
        return exits.OK
    rows = [
        (m["name"], m.get("latest_version"), m.get("version_count"), m.get("aliases") or {}) for m in items
    ]
    output.line(output.table(["model", "latest", "versions", "aliases"], rows))
    return exits.OK


def versions(api: Api, args) -> int:
    items = api.pages(f"models/{segment(args.model)}/versions/")
    if args.json:
        output.emit_json(items)
        return exits.OK
    rows = [
        (v["version"], v.get("status"), v.get("stage"), v.get("aliases") or [], v.get("creator"),
         (v.get("creation_timestamp") or "")[:19])
        for v in items
    ]  # fmt: skip
    output.line(output.table(["version", "status", "stage", "aliases", "creator", "created"], rows))
    return exits.OK


def comparison_rows(body: dict[str, Any], keys: list[str]) -> list[list[Any]]:
    rows = []
    for section, marker in (("metrics", ""), ("params", "param ")):
        for name, values in sorted((body.get(section) or {}).items()):
            rows.append([f"{marker}{name}"] + [values.get(k) for k in keys])
    return rows


def compare(api: Api, args) -> int:
    body = api.get("compare/", model=args.model, versions=",".join(str(v) for v in args.versions))
    if args.json:
        output.emit_json({k: v for k, v in body.items() if k != "charts"})
        return exits.OK
    keys = [f"{args.model}:{v}" for v in args.versions]
    output.line(output.table(["", *[f"v{v}" for v in args.versions]], comparison_rows(body, keys)))
    differing = body.get("differing_params") or []
    if differing:
        output.line(f"\nparams that differ: {', '.join(differing)}")
    return exits.OK


def _saved(args, size: int, what: str) -> int:
    if args.json:
        output.emit_json({"file": args.output, "bytes": size})
    else:
        output.line(f"{what} written to {args.output} ({size} bytes)")
    return exits.OK


def card_export(api: Api, args) -> int:
    path = f"models/{segment(args.model)}/versions/{args.version}/card/export"
    size = api.download(path, args.output, {"format": args.format})
    return _saved(args, size, f"Model card of {args.model} v{args.version} ({args.format})")


def evidence(api: Api, args) -> int:
    size = api.download("evidence/", args.output, {"target": args.target})
    return _saved(args, size, f"Evidence pack for {args.target}")


def package(api: Api, args) -> int:
    job = api.post(f"models/{segment(args.model)}/versions/{args.version}/packages", {"format": args.format})
    seen = ""
    deadline = time.monotonic() + args.timeout
    while args.wait and job["state"] not in ("succeeded", "failed"):
        if not args.json and job["state"] != seen:
            seen = job["state"]
            output.line(f"package {job['id']} ({job['format']}): {seen}")
        if time.monotonic() >= deadline:
            raise CliError(f"Timed out after {args.timeout:g} s: package job {job['id']} is {job['state']}.",
                           exits.TIMEOUT)  # fmt: skip
        time.sleep(args.interval)
        job = api.get(f"packages/{job['id']}")
    if args.json:
        output.emit_json(job)
    else:
        parity = job.get("parity") or {}
        output.line(f"package {job['id']} ({job['format']}): {job['state']}"
                    + (f", sha256 {job['sha256']}" if job.get("sha256") else "")
                    + (f", parity max_abs_diff {parity.get('max_abs_diff')}" if parity else ""))  # fmt: skip
        if job.get("error"):
            output.line(f"  error: {job['error']}")
    return exits.FAILED if job["state"] == "failed" else exits.OK


def audit_verify(api: Api, args) -> int:
    body = api.get("audit/verify")
    if args.json:
        output.emit_json(body)
    else:
        verdict = "ok" if body.get("ok") else f"BROKEN at seq {body.get('first_bad_seq')}"
        output.line(f"audit chain: {verdict}, {body.get('events')} events, head {body.get('head')}")
        for key in ("checkpoints_ok", "key_ok", "triggers_ok"):
            if key in body:
                output.line(f"  {key}: {body[key]}")
    return exits.OK if body.get("ok") else exits.AUDIT_BROKEN
