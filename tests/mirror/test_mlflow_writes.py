"""The mirror's outbox (mirror.outbox): a version tag queued in the caller's transaction, applied to MLflow
idempotently, retried with backoff while MLflow is down, swept after a lost message or a dead worker, each state
change a row and an audit event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.workflow.hashes import version_hash
from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mirror import gateway, outbox, tasks
from mirror.models import MlflowWrite, ModelVersion
from tests.support.governance import audit_actions

pytestmark = pytest.mark.django_db


@dataclass
class FakeTags:
    """MLflow's version tags in memory; `down`, `reject` and `gone` simulate failures."""

    tags: dict = field(default_factory=dict)  # {(model, version): {key: value}}
    writes: list = field(default_factory=list)
    down: bool = False
    reject: bool = False
    gone: bool = False

    def _check(self):
        if self.down:
            raise MlflowUnavailable("connection refused (fake)")
        if self.gone:
            raise MlflowNotFound("RESOURCE_DOES_NOT_EXIST (fake)")

    def get_version_tags(self, name, version):
        self._check()
        return dict(self.tags.get((name, int(version)), {}))

    def set_version_tag(self, name, version, key, value):
        self._check()
        if self.reject:
            raise MlflowRejected("INVALID_PARAMETER_VALUE (fake)")
        self.writes.append((name, int(version), key, value))
        self.tags.setdefault((name, int(version)), {})[key] = value


@pytest.fixture
def fake_tags(monkeypatch):
    fake = FakeTags()
    monkeypatch.setattr(gateway, "get_version_tags", fake.get_version_tags)
    monkeypatch.setattr(gateway, "set_version_tag", fake.set_version_tag)
    return fake


@pytest.fixture
def sent(monkeypatch):
    """Task messages the outbox sends, recorded instead of going to a broker."""
    messages = []
    monkeypatch.setattr(tasks.apply_mlflow_write_task, "delay", lambda *a: messages.append(a))
    monkeypatch.setattr(
        tasks.apply_mlflow_write_task,
        "apply_async",
        lambda args, countdown: messages.append((args, countdown)),
    )
    return messages


def _enqueue(value="1.0.0+abcdef01", key="semver", version=2):
    return outbox.enqueue_version_tag(model_name="churn", version=version, key=key, value=value, actor="rita")


def _actions(item):
    return audit_actions(object_type="mlflow_write", object_id=item.pk)


def _due(item):
    MlflowWrite.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now())


def test_a_queued_tag_is_sent_once_the_callers_transaction_commits(
    fake_tags, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = _enqueue()
        assert sent == []  # not before the commit
    assert sent == [(item.pk,)]
    assert (item.kind, item.key, item.value, item.done_at) == (
        "version_tag",
        "semver",
        "1.0.0+abcdef01",
        None,
    )
    assert _actions(item) == ["mlflow_write.queued"]


def test_a_rolled_back_transaction_queues_nothing(fake_tags, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            _enqueue()
            raise RuntimeError("the caller's decision failed")
    assert not MlflowWrite.objects.exists() and sent == []


def test_apply_sets_the_tag_confirms_it_and_a_second_delivery_changes_nothing(fake_tags):
    item = _enqueue()
    assert outbox.apply(write_id=item.pk) == ("applied", None)
    assert fake_tags.tags[("churn", 2)] == {"semver": "1.0.0+abcdef01"}
    item.refresh_from_db()
    assert item.outcome == "applied" and item.done_at and item.attempts == 1
    assert _actions(item) == ["mlflow_write.queued", "mlflow_write.applied"]
    assert outbox.apply(write_id=item.pk) == ("done", None)
    assert len(fake_tags.writes) == 1


def test_apply_retries_with_backoff_while_mlflow_is_down_then_applies_once(fake_tags):
    item = _enqueue()
    fake_tags.down = True
    assert outbox.apply(write_id=item.pk) == ("retry", 2.0)
    item.refresh_from_db()
    assert item.done_at is None and "unavailable" in item.last_error
    assert outbox.apply(write_id=item.pk) == ("skipped", None)  # backing off: a duplicate message waits
    _due(item)
    assert outbox.apply(write_id=item.pk) == ("retry", 4.0)
    fake_tags.down = False
    _due(item)
    assert outbox.apply(write_id=item.pk) == ("applied", None)
    assert fake_tags.writes == [("churn", 2, "semver", "1.0.0+abcdef01")]
    assert _actions(item) == ["mlflow_write.queued", "mlflow_write.retrying", "mlflow_write.applied"]


def test_a_worker_dying_after_the_write_leaves_work_the_sweep_finishes_without_writing_again(fake_tags, sent):
    item = _enqueue()
    outbox._claim(item.pk, timezone.now())  # the worker claimed it ...
    fake_tags.set_version_tag("churn", 2, "semver", "1.0.0+abcdef01")  # ... wrote to MLflow, and died
    assert outbox.sweep() == []  # still leased: nobody takes it yet
    later = timezone.now() + timedelta(seconds=61)
    assert outbox.pending(later) == [item.pk]
    _due(item)
    assert outbox.sweep() == [item.pk] and sent == [(item.pk,)]
    assert outbox.apply(write_id=item.pk) == ("applied", None)
    assert len(fake_tags.writes) == 1  # MLflow already held the value: confirmed, not written twice
    item.refresh_from_db()
    assert item.attempts == 2


@pytest.mark.parametrize(
    ("failure", "outcome"), [("gone", "gone"), ("reject", "failed")], ids=["version-gone", "refused"]
)
def test_a_version_mlflow_no_longer_has_or_a_refused_write_ends_the_item(fake_tags, failure, outcome):
    item = _enqueue()
    setattr(fake_tags, failure, True)
    assert outbox.apply(write_id=item.pk) == (outcome, None)
    item.refresh_from_db()
    assert item.outcome == outcome and item.done_at and item.last_error
    assert _actions(item)[-1] == f"mlflow_write.{outcome}"
    assert outbox.pending(timezone.now() + timedelta(days=1)) == []


def test_the_same_value_queued_again_is_the_same_row(fake_tags):
    first = _enqueue()
    assert _enqueue().pk == first.pk
    outbox.apply(write_id=first.pk)
    assert _enqueue().pk == first.pk  # already applied: nothing new to write
    assert MlflowWrite.objects.count() == 1


def test_a_new_value_supersedes_the_pending_one(fake_tags):
    first = _enqueue("1.0.0+aaaaaaaa")
    second = _enqueue("1.1.0+bbbbbbbb")
    first.refresh_from_db()
    assert first.outcome == "superseded" and first.done_at
    assert _actions(first) == ["mlflow_write.queued", "mlflow_write.superseded"]
    assert outbox.apply(write_id=first.pk) == ("done", None)
    assert outbox.apply(write_id=second.pk) == ("applied", None)
    assert fake_tags.writes == [("churn", 2, "semver", "1.1.0+bbbbbbbb")]


def test_the_task_re_sends_itself_with_the_backoff_while_mlflow_is_down(fake_tags, sent):
    item = _enqueue()
    fake_tags.down = True
    assert tasks.apply_mlflow_write_task(item.pk) == "retry"
    assert sent == [((item.pk,), 2.0)]
    fake_tags.down = False
    _due(item)
    assert tasks.apply_mlflow_write_task(item.pk) == "applied"
    assert tasks.sweep_mlflow_writes_task() == 0


def test_tags_the_app_writes_itself_are_not_bound_by_a_signature(churn):
    mv = ModelVersion.objects.select_related("model").get(model__name="churn", version=2)
    before = version_hash(mv)
    mv.tags = {**mv.tags, "semver": "1.0.0+abcdef01", "package.onnx.sha256": "ab" * 32}
    assert version_hash(mv) == before
    mv.tags = {**mv.tags, "owner": "someone else"}
    assert version_hash(mv) != before
