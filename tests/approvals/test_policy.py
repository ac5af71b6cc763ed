"""Policy parsing: the shipped file is valid, and every kind of error names the file and the line."""

import re
import textwrap
from pathlib import Path

import pytest

from approvals.gates import GateSpec
from approvals.policy_parse import PolicyError, parse_policy

REPO = Path(__file__).resolve().parents[2]

VALID = """\
targets:
  staging:
    mlflow: {alias: staging}
    approvals: 1
    approver_groups: [reviewers, approvers]
    gates: [version_ready, signature_present]
  production:
    mlflow:
      alias: production
    approvals: 2
    approver_groups: [approvers]
    gates:
      - version_ready
      - required_tags: {tags: {data_validated: "true"}}
      - beats_current
"""


def test_the_shipped_policy_has_the_default_targets_of_the_contract():
    policy = parse_policy((REPO / "policies.yaml").read_text())
    staging, production = policy.targets["staging"], policy.targets["production"]
    assert staging.mlflow() == {"alias": "staging"}
    assert staging.approvals_required == 1
    assert set(staging.approver_groups) == {"reviewers", "approvers"}
    assert [g.type for g in staging.gates] == ["version_ready", "signature_present"]
    assert production.mlflow() == {"alias": "production"}
    assert production.approvals_required == 2
    assert production.rollback_approvals == 2
    assert production.approver_groups == ("approvers",)
    assert [g.type for g in production.gates] == [
        "version_ready",
        "signature_present",
        "required_tags",
        "beats_current",
        "package_valid",
        "model_card_complete",
    ]
    assert production.gates[2].params == {"tags": {"data_validated": "true"}}
    assert production.gates[4].params == {"format": "onnx", "parity": True}
    assert production.gates[5].params == {"threshold": 1.0}
    assert production.on_drift == "flag"


def test_the_commented_examples_in_the_shipped_policy_are_valid_too():
    text = (REPO / "policies.yaml").read_text()
    body = text[text.index("version: 1") :]
    uncommented = []
    for line in body.splitlines():
        if line.startswith("overrides: []"):
            continue
        indent, _, rest = line.partition("# ")
        # Example YAML is commented out at its own indentation; prose comments are not key-like.
        if not indent.strip() and re.match(r"^\s*([\w-]+:|- )", rest):
            uncommented.append(indent + rest)
        else:
            uncommented.append(line)
    policy = parse_policy("\n".join(uncommented))
    assert policy.targets["legacy-production"].mlflow() == {"stage": "Production"}
    credit = policy.targets_for("credit-default-classifier")
    assert credit["production"].approvals_required == 3
    assert credit["production"].rollback_approvals == 2
    assert credit["production"].on_drift == "revert"
    assert "metric_threshold" in [g.type for g in credit["production"].gates]
    assert "production" not in policy.targets_for("sandbox-try")


def test_a_valid_policy_parses_gates_in_order_with_parameters():
    policy = parse_policy(VALID)
    assert policy.targets["production"].gates == (
        GateSpec("version_ready", {}),
        GateSpec("required_tags", {"tags": {"data_validated": "true"}}),
        GateSpec("beats_current", {}),
    )
    assert policy.targets["production"].rollback_approvals == 2
    assert policy.target("any-model", "staging").approvals_required == 1
    assert policy.target("any-model", "nope") is None


def test_a_stage_target_maps_to_the_mlflow_stage():
    policy = parse_policy(
        "targets:\n  prod:\n    mlflow: {stage: Production}\n    approvals: 1\n    approver_groups: approvers\n"
    )
    target = policy.targets["prod"]
    assert (target.mlflow_alias, target.mlflow_stage, target.mlflow()) == (
        None,
        "Production",
        {"stage": "Production"},
    )
    assert target.gates == ()


def test_overrides_apply_by_name_pattern_in_file_order():
    policy = parse_policy(
        VALID
        + textwrap.dedent(
            """\
            overrides:
              - models: "credit-*"
                targets:
                  production: {approvals: 3, on_drift: revert}
              - models: ["credit-sandbox", "*-toy"]
                targets:
                  production: {approvals: 1, rollback_approvals: 1, gates: [version_ready]}
                  staging: null
                  canary:
                    mlflow: {alias: canary}
                    approvals: 1
                    approver_groups: [reviewers]
            """
        )
    )
    assert policy.targets_for("wine")["production"].approvals_required == 2
    credit = policy.targets_for("credit-default")
    assert (credit["production"].approvals_required, credit["production"].rollback_approvals) == (3, 3)
    assert credit["production"].on_drift == "revert"
    assert [g.type for g in credit["production"].gates] == ["version_ready", "required_tags", "beats_current"]
    sandbox = policy.targets_for("credit-sandbox")
    assert set(sandbox) == {"production", "canary"}
    assert sandbox["production"].approvals_required == 1
    assert sandbox["production"].on_drift == "revert"  # from the first override, which matched too
    assert [g.type for g in sandbox["production"].gates] == ["version_ready"]
    assert policy.targets_for("wine-toy")["canary"].mlflow() == {"alias": "canary"}
    assert [o.line for o in policy.overrides] == [17, 20]


BAD = [
    # (yaml, line, message part)
    ("targets: [1, 2\n", 2, "not valid YAML"),
    ("", 1, "empty"),
    (
        "targets:\n  staging:\n    mlflow: {alias: staging}\n    approvals: 1\n    approver_groups: [reviewers]\n"
        "    colour: red\n",
        6,
        "targets.staging.colour is not a known key",
    ),
    ("target:\n  x: 1\n", 1, "policy.target is not a known key"),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 0\n    approver_groups: [approvers]\n",
        4,
        "targets.production.approvals must be a positive integer",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: two\n    approver_groups: [approvers]\n",
        4,
        "targets.production.approvals must be a positive integer",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: true\n    approver_groups: [approvers]\n",
        4,
        "approvals must be a positive integer",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production, stage: Production}\n    approvals: 1\n"
        "    approver_groups: [approvers]\n",
        3,
        "exactly one of alias or stage",
    ),
    (
        "targets:\n  production:\n    mlflow: {}\n    approvals: 1\n    approver_groups: [approvers]\n",
        3,
        "exactly one of alias or stage",
    ),
    ("targets:\n  production:\n    approvals: 1\n    approver_groups: [approvers]\n", 3, "needs `mlflow:"),
    (
        "targets:\n  production:\n    mlflow: {stage: Prod}\n    approvals: 1\n    approver_groups: [approvers]\n",
        3,
        "stage must be one of",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: latest}\n    approvals: 1\n    approver_groups: [approvers]\n",
        3,
        "reserved by MLflow",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [admins]\n",
        5,
        "'admins' is not a group that may approve",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [auditors]\n",
        5,
        "'auditors' is not a group",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: []\n",
        5,
        "non-empty list",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n",
        3,
        "approver_groups is required",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "    on_drift: panic\n",
        6,
        "on_drift must be one of flag, revert",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "    gates:\n      - version_ready\n      - teleport\n",
        8,
        "unknown gate type 'teleport'",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "    gates:\n      - metric_threshold:\n          metric: auc\n",
        8,
        "give min, max or both",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "    gates:\n      - required_tags: {tags: {data_validated: true}}\n",
        7,
        "quote values",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "    gates:\n      - model_card_complete: {threshold: 2}\n",
        7,
        "threshold must be a number between 0 and 1",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "    gates: version_ready\n",
        6,
        "gates must be a list",
    ),
    (
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "    approvals: 2\n",
        6,
        "given twice",
    ),
    (
        "targets:\n  Production!:\n    mlflow: {alias: production}\n    approvals: 1\n    approver_groups: [approvers]\n",
        2,
        "target name",
    ),
    (
        "targets:\n  a:\n    mlflow: {alias: prod}\n    approvals: 1\n    approver_groups: [approvers]\n"
        "  b:\n    mlflow: {alias: prod}\n    approvals: 1\n    approver_groups: [approvers]\n",
        1,
        "both map to MLflow",
    ),
    (
        VALID + "overrides:\n  - targets: {production: {approvals: 3}}\n",
        17,
        "overrides[0].models is required",
    ),
    (
        VALID + "overrides:\n  - models: 'x-*'\n    targets:\n      production:\n        approvals: -1\n",
        20,
        "overrides[0].targets.production.approvals must be a positive integer",
    ),
    (
        VALID + "overrides:\n  - models: 'x-*'\n    targets:\n      canary: {approvals: 1}\n",
        19,
        "needs `mlflow:",
    ),
    (
        VALID + "overrides:\n  - models: 'x-*'\n    targets:\n      production: {mlflow: {alias: staging}}\n",
        17,
        "both map to MLflow",
    ),
    (VALID + "overrides: {models: x}\n", 16, "overrides must be a list"),
    ("version: 2\ntargets: {}\n", 1, "version must be 1"),
    ("targets: {}\n", 1, "at least one target"),
]


@pytest.mark.parametrize(("text", "line", "problem"), BAD)
def test_each_kind_of_error_names_the_file_and_line(text, line, problem):
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="policies.yaml")
    message = str(info.value)
    assert message.startswith(f"policies.yaml:{line}: "), message
    assert problem in message, message
    assert info.value.line == line


def test_the_error_message_has_the_documented_shape():
    text = VALID.replace("approvals: 2", "approvals: 0")
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert (
        str(info.value)
        == "policies.yaml:10: targets.production.approvals must be a positive integer (1 to 20)"
    )
