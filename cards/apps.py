from django.apps import AppConfig

DRAFT_CHUNK = 200


def draft_new_version_cards(*, sync_run_id=None, result=None, **_) -> None:
    """after_sync hook: draft the cards of versions that just appeared in the mirror (in a worker)."""
    ids = sorted(getattr(result, "new_version_ids", None) or [])
    from cards.tasks import draft_cards_task  # noqa: PLC0415

    for start in range(0, len(ids), DRAFT_CHUNK):
        draft_cards_task.delay(ids[start : start + DRAFT_CHUNK])


def refresh_cards_after_artifacts_read(*, version_ids=(), **_) -> None:
    from cards.services import refresh_generated_sections  # noqa: PLC0415

    refresh_generated_sections(version_ids=version_ids)


class CardsConfig(AppConfig):
    name = "cards"
    label = "cards"
    verbose_name = "Model cards"

    def ready(self):
        from mirror import hooks  # noqa: PLC0415

        hooks.after_sync(draft_new_version_cards)
        hooks.after_artifacts_read(refresh_cards_after_artifacts_read)
