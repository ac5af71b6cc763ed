"""Issue 14: the authorization matrix. Every operation of the served OpenAPI schema and of the URL configuration
(pages and their forms) × anonymous, each role by session and each role by API token (and staff's session
posting without a CSRF token), on the objects of one
seeded world (object relations: an eligible or ineligible signer, the requester, the version's author, the
token's owner), against the one table of tests/support/authz_rules.py. Mismatches are printed, then counted."""

from __future__ import annotations

import time

import pytest

from audit import roles
from mirror import gateway
from tests.support import authz_matrix as matrix
from tests.support import authz_rules as rules
from tests.support import authz_world

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_pass_only.with_args(
        reason="who may do what does not depend on the database; runs once, in make test's PostgreSQL pass"
    ),
]


@pytest.fixture
def world(policy_file, fast_hashes, tmp_path, monkeypatch):
    monkeypatch.setattr(gateway, "open_artifact", authz_world.open_artifact)
    return authz_world.seed(tmp_path)


@pytest.fixture
def operations(world):
    staff = matrix.clients(world)[rules.Actor(roles.STAFF, "session")]
    return matrix.api_operations() + matrix.page_operations(staff)


def _rule(op: matrix.Operation):
    table = rules.API_RULES if op.kind == "api" else rules.PAGE_RULES
    return table.get((op.method, op.template))


def test_every_api_route_is_in_the_schema_and_every_operation_has_one_rule(operations):
    assert matrix.api_routes_missing_from_schema(operations) == []
    unclassified = [f"{op.method} {op.template}" for op in operations if _rule(op) is None]
    print("\n".join(["", *unclassified]))
    assert unclassified == [], "operations without a rule in tests/support/authz_rules.py"
    served = {(op.method, op.template) for op in operations}
    stale = sorted((set(rules.API_RULES) | set(rules.PAGE_RULES)) - served)
    assert stale == [], "rules for operations no longer served"


def test_every_operation_answers_each_actor_as_the_rules_say(world, operations):
    clients = matrix.clients(world)
    mismatches, checked, started = [], 0, time.monotonic()
    with matrix.refusals_counted() as refusals:
        for op in operations:
            found = matrix.instances(op, world)
            if isinstance(found, str):
                mismatches.append((f"{op.method} {op.template}", "-", "resolvable", found))
                continue
            if _rule(op) is None:
                continue  # reported by the test above
            for inst in found:
                for actor, client in clients.items():
                    expected = rules.expected(op.kind, op.method, _rule(op), actor, inst.subject)
                    status, got = matrix.ask(client, inst, refusals)
                    checked += 1
                    if got != expected:
                        where = f"{op.method} {inst.path} [{inst.subject.label or '-'}]"
                        mismatches.append((where, actor.label, expected, f"{got} ({status})"))
    print(f"\nauthz matrix: {len(operations)} operations, {checked} requests, "
          f"{len(mismatches)} mismatches, {time.monotonic() - started:.1f} s")  # fmt: skip
    for row in mismatches:
        print("MISMATCH  {:<70} {:<24} expected {:<7} got {}".format(*row))
    assert len(mismatches) == 0
