"""Celery tasks for model cards: thin and idempotent."""

from celery import shared_task


@shared_task(
    name="registry_ui.cards.tasks.draft_cards_task",
    acks_late=True,
    time_limit=30 * 60,
    soft_time_limit=28 * 60,
)
def draft_cards_task(version_ids: list[int]) -> None:
    from cards.services import draft_cards

    draft_cards(version_ids=version_ids)


@shared_task(
    name="registry_ui.cards.tasks.build_bulk_export_task",
    acks_late=True,
    time_limit=2 * 60 * 60,
    soft_time_limit=115 * 60,
)
def build_bulk_export_task(job_id: int) -> None:
    from cards.bulk import run_bulk_export

    run_bulk_export(job_id=job_id)
