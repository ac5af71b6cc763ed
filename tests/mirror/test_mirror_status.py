"""The footer's and banner's mirror status, read on every page: the newest finished sync run through its index
(one query), and the newest success only after a failure."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mirror.models import SyncRun
from mirror.selectors import mirror_status

pytestmark = pytest.mark.django_db


def finished(status: str, minutes_ago: int) -> SyncRun:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(kind="reconcile", status=status, started_at=at, finished_at=at)


def test_a_mirror_never_synced_is_stale_with_no_status(django_assert_num_queries):
    SyncRun.objects.create(kind="full")  # queued: not finished
    with django_assert_num_queries(1):
        status = mirror_status()
    assert (status["last_success_at"], status["last_status"], status["stale"]) == (None, None, True)


def test_the_newest_success_is_read_in_one_query(django_assert_num_queries, settings):
    settings.MIRROR_STALE_AFTER_SECONDS = 600
    finished("failed", 30)
    newest = finished("succeeded", 2)
    SyncRun.objects.create(kind="reconcile", status="running", started_at=timezone.now())
    with django_assert_num_queries(1):
        status = mirror_status()
    assert (status["last_success_at"], status["last_status"], status["stale"]) == (
        newest.finished_at,
        "succeeded",
        False,
    )


def test_after_a_failure_the_status_names_the_failure_and_the_last_success(django_assert_num_queries):
    success = finished("succeeded", 20)
    finished("succeeded", 40)
    finished("failed", 1)
    with django_assert_num_queries(2):
        status = mirror_status()
    assert (status["last_success_at"], status["last_status"], status["stale"]) == (
        success.finished_at,
        "failed",
        True,
    )
