"""The versions' part of the one upsert (`mirror.sync`), writable in parts, and the row helpers every part uses:
compare a row with what MLflow reported and set it, mark deleted what a complete read no longer lists."""

from __future__ import annotations

from datetime import datetime

from mirror.identities import IdentityWatch
from mirror.models import IdentityChange, ModelVersion
from mirror.sync_values import VERSION_FIELDS, version_values


class VersionUpsert:
    """The versions' part of the upsert, writable in parts (`apply_stream` writes each part once its runs are in):
    the mirrored versions in scope are read once, each `write` creates or changes its versions, and `finish`
    marks deleted the live ones no part named."""

    def __init__(
        self, scope, now, model_ids: dict[str, int], identities: IdentityWatch, result
    ):  # sync.ApplyResult
        version_rows = ModelVersion.objects.all()
        if scope is not None:
            version_rows = version_rows.filter(model__name=scope)
        self.existing = {(v.model_id, v.version): v for v in version_rows}
        self.now, self.model_ids, self.identities, self.result = now, model_ids, identities, result
        self.seen: set[tuple[int, int]] = set()
        self.new: list[ModelVersion] = []
        self.changed: list[ModelVersion] = []

    def write(self, versions, run_pks: dict[str, int]) -> None:
        new, changed = [], []
        for v in versions:
            model_pk = self.model_ids.get(v.name)
            if model_pk is None:  # a version whose model vanished between the two reads; next sync has it
                continue
            key = (model_pk, v.version)
            self.seen.add(key)
            values = version_values(v, run_pks.get(v.run_id))
            row = self.existing.get(key)
            if row is None:
                new.append(ModelVersion(model_id=model_pk, version=v.version, synced_at=self.now, **values))
                continue
            values["creator"] = (
                self.identities.keep_first(IdentityChange.Field.VERSION_USER_ID, row, row.creator, v.user_id)
                or None
            )
            if set_changed(row, values) or row.deleted_at is not None:
                row.deleted_at = None
                row.synced_at = self.now
                changed.append(row)
        ModelVersion.objects.bulk_create(new, batch_size=500)
        if changed:
            ModelVersion.objects.bulk_update(
                changed, [*VERSION_FIELDS, "deleted_at", "synced_at"], batch_size=500
            )
        self.new += new
        self.changed += changed

    def finish(self) -> None:
        gone = mark_gone(ModelVersion, self.existing, self.seen, self.now)
        result, new = self.result, self.new
        result.created += len(new)
        result.updated += len(self.changed)
        result.deleted += len(gone)
        name_by_pk = {pk: name for name, pk in self.model_ids.items()}
        result.touched_models |= {name_by_pk.get(r.model_id, "") for r in new + self.changed + gone}
        result.touched_models.discard("")
        if new:
            result.new_version_ids = list(
                ModelVersion.objects.filter(
                    model_id__in={r.model_id for r in new}, version__in={r.version for r in new}
                )
                .filter(deleted_at__isnull=True, artifacts_read_at__isnull=True)
                .values_list("pk", flat=True)
            )


def set_changed(row, values: dict) -> bool:
    """Set `values` on the row when any differs from it (compared field by field); True when it did."""
    if not any(getattr(row, k) != v for k, v in values.items()):
        return False
    for k, v in values.items():
        setattr(row, k, v)
    return True


def mark_gone(model_class, existing: dict, seen: set, now: datetime) -> list:
    """Mark deleted (kept, not removed) the live rows of `existing` that the complete read did not see."""
    gone = [row for key, row in existing.items() if key not in seen and row.deleted_at is None]
    for row in gone:
        row.deleted_at = now
    if gone:
        model_class.objects.bulk_update(gone, ["deleted_at"], batch_size=500)
    return gone
