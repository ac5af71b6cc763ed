"""Policy loading: get_policy caches and reloads the file, keeps the last valid one when the file turns invalid,
stops start-up on an invalid or missing file; check_policy prints the effective targets or the file and line;
the first decision under a policy's content records it once."""

import os
from functools import partial

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, ProgrammingError

from approvals import policy as policy_module
from approvals.policy import get_policy, policy_for_decision, validate_on_startup
from tests.approvals.test_policy import VALID


@pytest.fixture
def policy_file(tmp_path, settings):
    path = tmp_path / "policies.yaml"
    path.write_text(VALID)
    settings.POLICY_PATH = path
    policy_module.clear_cache()
    yield path
    policy_module.clear_cache()


def test_get_policy_is_cached_and_reloaded_when_the_file_changes(policy_file):
    first = get_policy()
    assert get_policy() is first
    policy_file.write_text(VALID.replace("approvals: 2", "approvals: 3"))
    import os

    stat = policy_file.stat()
    os.utime(policy_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = get_policy()
    assert second is not first
    assert second.targets["production"].approvals_required == 3


def test_a_policy_turned_invalid_after_start_keeps_the_last_valid_one_and_says_why(policy_file):
    import os

    from approvals.policy import reload_error

    good = get_policy()
    policy_file.write_text(VALID.replace("approvals: 2", "approvals: lots"))
    stat = policy_file.stat()
    os.utime(policy_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert get_policy() is good
    assert reload_error().endswith(
        "policies.yaml:10: targets.production.approvals must be a positive integer (1 to 20)"
    )
    policy_file.write_text(VALID.replace("approvals: 2", "approvals: 4"))
    os.utime(policy_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000))
    assert get_policy().targets["production"].approvals_required == 4
    assert reload_error() is None


def test_an_invalid_policy_stops_start_up(policy_file):
    policy_file.write_text(VALID.replace("approvals: 1", "approvals: many"))
    with pytest.raises(ImproperlyConfigured, match=r"policies.yaml:4: targets.staging.approvals must be"):
        validate_on_startup()


def test_a_missing_policy_file_stops_start_up(settings, tmp_path):
    settings.POLICY_PATH = tmp_path / "nope.yaml"
    policy_module.clear_cache()
    with pytest.raises(ImproperlyConfigured, match="does not exist"):
        validate_on_startup()
    policy_module.clear_cache()


def test_check_policy_prints_the_effective_targets(policy_file, capsys):
    call_command("check_policy", "--path", str(policy_file), "--model", "credit-x")
    out = capsys.readouterr().out
    assert "ok" in out
    assert "production: alias production; 2 approval(s) from approvers" in out
    assert "effective targets for credit-x" in out


def test_check_policy_fails_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("[reviewers, approvers]", "[reviewers, admins]"))
    with pytest.raises(CommandError, match=r"bad.yaml:5: targets.staging.approver_groups: 'admins'") as info:
        call_command("check_policy", "--path", str(bad))
    assert info.value.returncode == 1


@pytest.mark.django_db
def test_the_first_decision_under_a_policy_content_records_it_once(policy_file):
    from audit.models import AuditEvent

    get_policy()  # reading (pages, listings) never writes
    assert not AuditEvent.objects.filter(action="policy.loaded").exists()
    policy_for_decision()
    policy_for_decision()
    events = list(AuditEvent.objects.filter(action="policy.loaded"))
    assert len(events) == 1
    assert events[0].actor == "system"
    assert events[0].data["sha256"] == get_policy().sha256
    # Another process (a fresh cache) deciding under the same content does not repeat the event.
    policy_module.clear_cache()
    policy_for_decision()
    assert AuditEvent.objects.filter(action="policy.loaded").count() == 1
    # A changed file is a new content: recorded at the next decision.
    policy_file.write_text(VALID.replace("approvals: 2", "approvals: 3"))
    stat = policy_file.stat()
    os.utime(policy_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert get_policy().targets["production"].approvals_required == 3
    assert AuditEvent.objects.filter(action="policy.loaded").count() == 1
    policy_for_decision()
    assert AuditEvent.objects.filter(action="policy.loaded").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("lost", [OperationalError, InterfaceError])
def test_a_decision_fails_when_the_connection_fails_under_its_policy_record(policy_file, monkeypatch, lost):
    """Found by the fault suite: a connection terminated during the policy.loaded append was swallowed, and the
    decision went on over a fresh connection, recorded before the policy it was taken under."""

    def cut(policy, error=lost):
        raise error("terminating connection due to administrator command")

    monkeypatch.setattr(policy_module, "record_policy_loaded", cut)
    with pytest.raises(lost):
        policy_for_decision()
    # A table not migrated yet: the decision goes on, and the record is tried again at the next one.
    monkeypatch.setattr(policy_module, "record_policy_loaded", partial(cut, error=ProgrammingError))
    assert policy_for_decision() is get_policy()
