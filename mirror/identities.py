"""Author identities as first seen. MLflow reporting another author later (a re-tagged `mlflow.user`, a
rewritten `user_id`) never replaces the first value in the mirror; the sync records the change instead."""

from __future__ import annotations

from audit.services import record
from mirror.models import IdentityChange, ModelVersion, Run


class IdentityWatch:
    """Author identities are kept as first seen: MLflow reporting another value later (a re-tagged
    `mlflow.user`, a rewritten `user_id`) never replaces it, so re-tagging cannot dodge segregation of duties.
    The change is recorded as an IdentityChange and on the audit chain, once, and resolved when MLflow
    reports the first value again."""

    def __init__(self, now):
        self.now = now
        # Open changes are rare (a tampering incident): one small query per sync, nothing written when quiet.
        self.open: dict[tuple[str, str, int], IdentityChange] = {}
        for change in IdentityChange.objects.filter(resolved_at__isnull=True):
            kind, pk = ("version", change.version_id) if change.version_id else ("run", change.run_id)
            self.open[(change.field, kind, pk)] = change
        self.seen: list[tuple[tuple[str, str, int], object, str, str]] = []

    def keep_first(self, field: str, row, first: str | None, reported: str | None) -> str:
        first, reported = first or "", (reported or "")[:256]
        if not first:
            return reported  # nothing seen yet: this is the first value
        key = (field, "version" if isinstance(row, ModelVersion) else "run", row.pk)
        if reported != first or key in self.open:
            self.seen.append((key, row, first, reported))
        return first

    def record(self) -> list[int]:
        created = []
        for key, row, first, reported in self.seen:
            change = self.open.get(key)
            if change is not None and change.reported_value == reported:
                continue  # already recorded
            if change is not None:  # back to the first value, or changed again: close the earlier record
                change.resolved_at = self.now
                change.save(update_fields=["resolved_at"])
                _audit_identity(change, "identity.resolved", row)
            if reported != first:
                field_name, kind, _ = key
                change = IdentityChange.objects.create(
                    field=field_name,
                    version=row if kind == "version" else None,
                    run=row if kind == "run" else None,
                    first_value=first,
                    reported_value=reported,
                    detected_at=self.now,
                )
                _audit_identity(change, "identity.changed", row)
                created.append(change.pk)
        return created


def _audit_identity(change: IdentityChange, action: str, row) -> None:
    if isinstance(row, ModelVersion):
        object_type, object_id = "model_version", f"{row.model.name}/{row.version}"
        where = {"model": row.model.name, "version": row.version, "run_id": row.run_id}
    else:
        object_type, object_id = "run", row.run_id
        where = {"run_id": row.run_id, "versions": _versions_of(row)}
    record(
        actor="system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        data={
            **where,
            "field": change.field,
            "first": change.first_value,
            "reported": change.reported_value,
            "identity_change_id": change.pk,
        },
    )


def _versions_of(run: Run) -> list[str]:
    rows = ModelVersion.objects.filter(source_run=run).values_list("model__name", "version")[:100]
    return [f"{name}/{version}" for name, version in rows]
