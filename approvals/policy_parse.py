"""Policy as code, parsed: promotion targets, approvals and gates from the text of a YAML policy file.

Pure (no Django, no I/O): `parse_policy` takes text and gives a frozen `Policy`, or raises a `PolicyError`
whose message names the file, the line and the problem ("policies.yaml:12: targets.production.approvals must
be a positive integer"). Reading the file, caching and start-up validation are `approvals.policy`'s.

The file's shape is documented where it is edited: the comments at the top of policies.yaml.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from approvals.gates import GateSpec, validate_params
from audit import roles

# API.md "Roles": only reviewers and approvers may sign; ml-engineers request.
APPROVER_GROUPS = roles.SIGNERS
MLFLOW_STAGES = ("Staging", "Production", "Archived")
ON_DRIFT = ("flag", "revert")
MAX_APPROVALS = 20

TOP_KEYS = {"version", "targets", "overrides"}
TARGET_KEYS = {
    "mlflow",
    "approvals",
    "approver_groups",
    "rollback_approvals",
    "on_drift",
    "gates",
    "description",
}
OVERRIDE_KEYS = {"models", "targets", "description"}

_TARGET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_VERSION_LIKE_ALIAS = re.compile(r"^v\d+$", re.IGNORECASE)


class PolicyError(Exception):
    """An invalid policy. str() is "FILE:LINE: problem"."""

    def __init__(self, problem: str, *, source: str = "policies.yaml", line: int | None = None):
        self.problem = problem
        self.source = source
        self.line = line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Target:
    name: str
    mlflow_alias: str | None
    mlflow_stage: str | None
    approvals_required: int
    approver_groups: tuple[str, ...]
    gates: tuple[GateSpec, ...]
    rollback_approvals: int
    on_drift: str = "flag"  # "flag" | "revert"
    description: str = ""

    def mlflow(self) -> dict[str, Any]:
        return {"alias": self.mlflow_alias} if self.mlflow_alias else {"stage": self.mlflow_stage}

    def as_dict(self) -> dict[str, Any]:
        """The API's shape (`GET /api/v1/targets/`), plus the optional fields."""
        return {
            "name": self.name,
            "mlflow": self.mlflow(),
            "approvals_required": self.approvals_required,
            "approver_groups": list(self.approver_groups),
            "gates": [g.as_dict() for g in self.gates],
            "rollback_approvals": self.rollback_approvals,
            "on_drift": self.on_drift,
            "description": self.description,
        }


@dataclass(frozen=True)
class Override:
    patterns: tuple[str, ...]
    # target name -> the validated fields it changes (None: the target does not apply to these models)
    targets: dict[str, dict[str, Any] | None]
    line: int = 0
    description: str = ""

    def matches(self, model_name: str) -> bool:
        return any(fnmatch.fnmatchcase(model_name, p) for p in self.patterns)


@dataclass(frozen=True)
class Policy:
    targets: dict[str, Target]
    overrides: tuple[Override, ...] = ()
    source: str = "policies.yaml"  # the file name used in messages
    text: str = ""  # the YAML as read (shown read-only in the UI)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def overrides_for(self, model_name: str) -> tuple[Override, ...]:
        return tuple(o for o in self.overrides if o.matches(model_name))

    def targets_for(self, model_name: str) -> dict[str, Target]:
        """The effective targets of one model: the base targets with matching overrides applied in file order."""
        matching = self.overrides_for(model_name)
        return _effective(self.targets, matching) if matching else dict(self.targets)

    def target(self, model_name: str, target_name: str) -> Target | None:
        return self.targets_for(model_name).get(target_name)


# --- building targets from validated fields -------------------------------------------------------
def _target_fields(t: Target) -> dict[str, Any]:
    fields = {
        "mlflow": t.mlflow(),
        "approvals": t.approvals_required,
        "approver_groups": t.approver_groups,
        "gates": t.gates,
        "on_drift": t.on_drift,
        "description": t.description,
    }
    if t.rollback_approvals != t.approvals_required:
        fields["rollback_approvals"] = t.rollback_approvals
    return fields


def _effective(base: dict[str, Target], overrides: Iterable[Override]) -> dict[str, Target]:
    fields: dict[str, dict[str, Any] | None] = {name: _target_fields(t) for name, t in base.items()}
    for override in overrides:
        for name, patch in override.targets.items():
            # Only the keys an override gives change; `gates` replaces the whole list.
            fields[name] = None if patch is None else {**(fields.get(name) or {}), **patch}
    return {name: _build_target(name, f) for name, f in fields.items() if f is not None and "mlflow" in f}


def _build_target(name: str, f: dict[str, Any]) -> Target:
    approvals = f.get("approvals", 1)
    return Target(
        name=name,
        mlflow_alias=f["mlflow"].get("alias"),
        mlflow_stage=f["mlflow"].get("stage"),
        approvals_required=approvals,
        approver_groups=tuple(f.get("approver_groups", roles.DEFAULT_SIGNERS)),
        gates=tuple(f.get("gates", ())),
        rollback_approvals=f.get("rollback_approvals", approvals),
        on_drift=f.get("on_drift", "flag"),
        description=f.get("description", ""),
    )


# --- parsing with line numbers ---------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.loader = yaml.SafeLoader(text)

    def error(self, node: Node | None, problem: str) -> PolicyError:
        line = node.start_mark.line + 1 if node is not None else None
        return PolicyError(problem, source=self.source, line=line)

    def value(self, node: Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: Node, path: str, allowed: set[str] | None = None) -> dict[str, tuple[Node, Node]]:
        """A mapping node as {key: (key_node, value_node)}; rejects non-string, duplicate and unknown keys."""
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{path} must be a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.error(key_node, f"{path}: keys must be strings, got {key!r}")
            if key in out:
                raise self.error(key_node, f"{path}.{key} is given twice")
            if allowed is not None and key not in allowed:
                raise self.error(
                    key_node,
                    f"{path}.{key} is not a known key (expected one of: {', '.join(sorted(allowed))})",
                )
            out[key] = (key_node, value_node)
        return out

    def parse(self) -> Policy:
        try:
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise PolicyError(
                f"not valid YAML: {exc.problem or exc.context}",
                source=self.source,
                line=mark.line + 1 if mark else None,
            ) from None
        except yaml.YAMLError as exc:
            raise PolicyError(f"not valid YAML: {exc}", source=self.source) from None
        if root is None:
            raise PolicyError(
                "the policy is empty; it needs a `targets:` mapping", source=self.source, line=1
            )
        top = self.mapping(root, "policy", TOP_KEYS)
        if "version" in top and self.value(top["version"][1]) != 1:
            raise self.error(top["version"][1], "version must be 1")
        if "targets" not in top:
            raise self.error(root, "the policy needs a `targets:` mapping")
        targets_node = top["targets"][1]
        targets: dict[str, Target] = {}
        for name, (key_node, node) in self.mapping(targets_node, "targets").items():
            self.check_target_name(key_node, name)
            f = self.target_fields(node, f"targets.{name}", partial=False)
            targets[name] = _build_target(name, f)
        if not targets:
            raise self.error(targets_node, "targets must name at least one target")
        self.check_unique_mlflow(targets.values(), top["targets"][0], "targets")
        overrides: list[Override] = []
        if "overrides" in top:
            overrides_node = top["overrides"][1]
            if not isinstance(overrides_node, SequenceNode):
                raise self.error(overrides_node, "overrides must be a list")
            for i, node in enumerate(overrides_node.value):
                overrides.append(self.override(node, f"overrides[{i}]", targets))
        return Policy(targets=targets, overrides=tuple(overrides), source=self.source, text=self.text)

    def check_target_name(self, node: Node, name: str) -> None:
        if not _TARGET_NAME.match(name):
            raise self.error(
                node,
                f"target name {name!r} must be lower-case letters, digits, '-' or '_' (at most 64 characters)",
            )

    def check_unique_mlflow(self, targets: Iterable[Target], node: Node, path: str) -> None:
        seen: dict[tuple[tuple[str, Any], ...], str] = {}
        for t in targets:
            key = tuple(t.mlflow().items())
            if key in seen:
                raise self.error(
                    node, f"{path}: {t.name} and {seen[key]} both map to MLflow {dict([key[0]])}"
                )
            seen[key] = t.name

    def target_fields(self, node: Node, path: str, *, partial: bool) -> dict[str, Any]:
        m = self.mapping(node, path, TARGET_KEYS)
        f: dict[str, Any] = {}
        if "mlflow" in m:
            f["mlflow"] = self.mlflow(m["mlflow"][1], f"{path}.mlflow")
        elif not partial:
            raise self.error(node, f"{path} needs `mlflow: {{alias: NAME}}` or `mlflow: {{stage: NAME}}`")
        for key in ("approvals", "rollback_approvals"):
            if key in m:
                value = self.value(m[key][1])
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_APPROVALS:
                    raise self.error(
                        m[key][1], f"{path}.{key} must be a positive integer (1 to {MAX_APPROVALS})"
                    )
                f[key] = value
        if not partial and "approvals" not in f:
            raise self.error(node, f"{path}.approvals is required (how many signatures a promotion needs)")
        if "approver_groups" in m:
            f["approver_groups"] = self.groups(m["approver_groups"][1], f"{path}.approver_groups")
        elif not partial:
            raise self.error(
                node, f"{path}.approver_groups is required (one or more of {', '.join(APPROVER_GROUPS)})"
            )
        if "on_drift" in m:
            value = self.value(m["on_drift"][1])
            if value not in ON_DRIFT:
                raise self.error(
                    m["on_drift"][1], f"{path}.on_drift must be one of {', '.join(ON_DRIFT)}, not {value!r}"
                )
            f["on_drift"] = value
        if "description" in m:
            value = self.value(m["description"][1])
            if not isinstance(value, str):
                raise self.error(m["description"][1], f"{path}.description must be text")
            f["description"] = value.strip()
        if "gates" in m:
            f["gates"] = self.gates(m["gates"][1], f"{path}.gates")
        elif not partial:
            f["gates"] = ()
        return f

    def mlflow(self, node: Node, path: str) -> dict[str, Any]:
        m = self.mapping(node, path, {"alias", "stage"})
        if len(m) != 1:
            raise self.error(node, f"{path} must give exactly one of alias or stage")
        ((kind, (_, value_node)),) = m.items()
        value = self.value(value_node)
        if kind == "alias":
            if not isinstance(value, str) or not _ALIAS.match(value):
                raise self.error(
                    value_node, f"{path}.alias must be an MLflow alias (letters, digits, '-', '_')"
                )
            if value.lower() == "latest" or _VERSION_LIKE_ALIAS.match(value):
                raise self.error(value_node, f"{path}.alias {value!r} is reserved by MLflow")
        elif value not in MLFLOW_STAGES:
            raise self.error(
                value_node, f"{path}.stage must be one of {', '.join(MLFLOW_STAGES)}, not {value!r}"
            )
        return {kind: value}

    def groups(self, node: Node, path: str) -> tuple[str, ...]:
        value = self.value(node)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.error(
                node, f"{path} must be a non-empty list of groups ({', '.join(APPROVER_GROUPS)})"
            )
        for group in value:
            if group not in APPROVER_GROUPS:
                raise self.error(
                    node,
                    f"{path}: {group!r} is not a group that may approve (one of {', '.join(APPROVER_GROUPS)})",
                )
        if len(set(value)) != len(value):
            raise self.error(node, f"{path} names a group twice")
        return tuple(value)

    def gates(self, node: Node, path: str) -> tuple[GateSpec, ...]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, f"{path} must be a list of gates")
        specs: list[GateSpec] = []
        for i, item in enumerate(node.value):
            where = f"{path}[{i}]"
            if isinstance(item, ScalarNode):
                gate_type, params, params_node = self.value(item), {}, item
                if not isinstance(gate_type, str):
                    raise self.error(item, f"{where} must be a gate name or {{name: {{parameters}}}}")
            elif isinstance(item, MappingNode) and len(item.value) == 1:
                key_node, params_node = item.value[0]
                gate_type = self.value(key_node)
                params = self.value(params_node)
                if params is None:
                    params = {}
                if not isinstance(gate_type, str):
                    raise self.error(item, f"{where} must be a gate name or {{name: {{parameters}}}}")
                if not isinstance(params, dict):
                    raise self.error(params_node, f"{where}.{gate_type}: parameters must be a mapping")
            else:
                raise self.error(item, f"{where} must be a gate name or {{name: {{parameters}}}}")
            problems = validate_params(gate_type, params)
            if problems:
                label = where if problems[0].startswith("unknown gate type") else f"{where}.{gate_type}"
                raise self.error(params_node if params else item, f"{label}: {'; '.join(problems)}")
            if any(s.type == gate_type and s.params == params for s in specs):
                raise self.error(item, f"{where}: gate {gate_type} is listed twice with the same parameters")
            specs.append(GateSpec(type=gate_type, params=params))
        return tuple(specs)

    def override(self, node: Node, path: str, base: dict[str, Target]) -> Override:
        m = self.mapping(node, path, OVERRIDE_KEYS)
        if "models" not in m:
            raise self.error(node, f'{path}.models is required (a model name pattern such as "fraud-*")')
        patterns = self.value(m["models"][1])
        if isinstance(patterns, str):
            patterns = [patterns]
        if (
            not isinstance(patterns, list)
            or not patterns
            or not all(isinstance(p, str) and p for p in patterns)
        ):
            raise self.error(m["models"][1], f"{path}.models must be a name pattern or a list of them")
        if "targets" not in m:
            raise self.error(node, f"{path}.targets is required (the target settings it changes)")
        changes: dict[str, dict[str, Any] | None] = {}
        for name, (key_node, tnode) in self.mapping(m["targets"][1], f"{path}.targets").items():
            self.check_target_name(key_node, name)
            if isinstance(tnode, ScalarNode) and self.value(tnode) is None:
                changes[name] = None
                continue
            f = self.target_fields(tnode, f"{path}.targets.{name}", partial=name in base)
            changes[name] = f
        description = self.value(m["description"][1]) if "description" in m else ""
        override = Override(
            patterns=tuple(patterns),
            targets=changes,
            line=node.start_mark.line + 1,
            description=str(description or ""),
        )
        # The effective targets must stay valid (e.g. two targets on one alias) for a model the pattern names.
        self.check_unique_mlflow(_effective(base, (override,)).values(), node, path)
        return override


def parse_policy(text: str, source: str = "policies.yaml") -> Policy:
    return _Parser(text, source).parse()
