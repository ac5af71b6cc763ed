"""`registry`: argument parsing and dispatch. Every command takes --json; exit codes are in exits.py."""

from __future__ import annotations

import argparse
import sys

from registry_cli import commands, config, promotions
from registry_cli.client import Api
from registry_cli.exits import CliError


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the API's JSON answer")
    return common


def _waiting(parser: argparse.ArgumentParser, default_timeout: float = 3600) -> None:
    parser.add_argument("--wait", action="store_true", help="follow it until it ends, printing progress")
    parser.add_argument("--timeout", type=float, default=default_timeout, help="seconds --wait waits at most")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between two looks (--wait)")


def _promotion_commands(sub, common) -> None:
    p = sub.add_parser("promote", parents=[common], help="request a promotion (and --wait until applied)")
    p.add_argument("model")
    p.add_argument("version", type=int)
    p.add_argument("--target", required=True)
    p.add_argument("--justification", required=True)
    _waiting(p)
    p.set_defaults(run=promotions.promote)
    r = sub.add_parser("rollback", parents=[common], help="request a rollback of a target")
    r.add_argument("model")
    r.add_argument("--target", required=True)
    r.add_argument("--to-version", type=int, default=None, help="default: the previous holder")
    r.add_argument("--justification", required=True)
    _waiting(r)
    r.set_defaults(run=promotions.rollback)
    s = sub.add_parser("status", parents=[common], help="a promotion's state, gates and signatures")
    s.add_argument("id", type=int)
    _waiting(s)
    s.set_defaults(run=promotions.status)


def _registry_commands(sub, common) -> None:
    m = sub.add_parser("models", parents=[common], help="registered models")
    m.add_argument("--search", default="")
    m.set_defaults(run=commands.models)
    v = sub.add_parser("versions", parents=[common], help="a model's versions, newest first")
    v.add_argument("model")
    v.set_defaults(run=commands.versions)
    c = sub.add_parser("compare", parents=[common], help="metrics and params of versions side by side")
    c.add_argument("model")
    c.add_argument("versions", type=int, nargs="+")
    c.set_defaults(run=commands.compare)
    card = sub.add_parser("card", help="model cards").add_subparsers(dest="card_command", required=True)
    e = card.add_parser("export", parents=[common], help="export a version's model card to a file")
    e.add_argument("model")
    e.add_argument("version", type=int)
    e.add_argument("--format", choices=["pdf", "html", "md", "json"], default="pdf")
    e.add_argument("-o", "--output", required=True)
    e.set_defaults(run=commands.card_export)
    ev = sub.add_parser("evidence", parents=[common], help="the evidence pack (zip) of a target")
    ev.add_argument("--target", required=True)
    ev.add_argument("-o", "--output", required=True)
    ev.set_defaults(run=commands.evidence)
    pk = sub.add_parser("package", parents=[common], help="package a version (onnx, joblib, ...)")
    pk.add_argument("model")
    pk.add_argument("version", type=int)
    pk.add_argument("--format", required=True, choices=["onnx", "torchscript", "joblib", "savedmodel"])
    _waiting(pk, default_timeout=1800)
    pk.set_defaults(run=commands.package)
    audit = sub.add_parser("audit", help="the audit chain").add_subparsers(
        dest="audit_command", required=True
    )
    a = audit.add_parser("verify", parents=[common], help="verify the audit chain (exit 20 when broken)")
    a.set_defaults(run=commands.audit_verify)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="registry",
        description="Drive the governance registry from a pipeline (REGISTRY_URL, REGISTRY_TOKEN).",
        epilog="Exit codes: 0 ok, 1 refused, 2 usage, 3 no URL/token, 4 network, 5 auth, 6 not found, "
        "10 blocked, 11 rejected, 12 cancelled, 13 failed, 14 timed out, 20 audit chain broken.",
    )
    sub = top.add_subparsers(dest="command", required=True)
    common = _common()
    _promotion_commands(sub, common)
    _registry_commands(sub, common)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        api = Api(config.load())
        return args.run(api, args)
    except CliError as exc:
        print(f"registry: {exc}", file=sys.stderr, flush=True)
        return exc.code
    except KeyboardInterrupt:
        return 130
