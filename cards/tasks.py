"""Celery tasks for model cards: thin and idempotent."""

from celery import shared_task

from cards.bulk import run_bulk_export
from cards.services import draft_cards

DRAFT_CHUNK = 200


@shared_task(
    name="registry_ui.cards.tasks.draft_cards_task",
    acks_late=True,
    time_limit=30 * 60,
    soft_time_limit=28 * 60,
)
def draft_cards_task(version_ids: list[int]) -> None:
    draft_cards(version_ids=version_ids)


@shared_task(
    name="registry_ui.cards.tasks.build_bulk_export_task",
    acks_late=True,
    time_limit=2 * 60 * 60,
    soft_time_limit=115 * 60,
)
def build_bulk_export_task(job_id: int) -> None:
    run_bulk_export(job_id=job_id)


def draft_new_version_cards(*, sync_run_id=None, result=None, **_) -> None:
    """after_sync hook: draft the cards of versions that just appeared in the mirror (in a worker)."""
    ids = sorted(getattr(result, "new_version_ids", None) or [])
    for start in range(0, len(ids), DRAFT_CHUNK):
        draft_cards_task.delay(ids[start : start + DRAFT_CHUNK])
