"""Reads of the audit chain."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from audit.models import AuditEvent
from common.errors import InvalidInput

FILTER_FIELDS = ("actor", "action", "object_type", "object_id")


def parse_since(value: str, *, field: str = "since", end_of_day: bool = False) -> dt.datetime:
    """An ISO-8601 date or date-time (UTC when no offset is given); InvalidInput otherwise.
    With `end_of_day`, a bare date means the end of that day (the next midnight): `until=2026-01-31`
    includes the 31st."""
    # A "+" in a query string arrives as a space: "2026-01-01T00:00:00 01:00" means +01:00.
    text = (
        re.sub(r"(?<=\d) (\d{2}:?\d{2})$", r"+\1", value.strip())
        if len(value.strip()) > 16
        else value.strip()
    )
    parsed: dt.datetime | None = None
    try:
        # A bare date first: parse_datetime also reads "2026-01-31" (as midnight), which `until` must not.
        day = parse_date(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
        if day is not None:
            parsed = dt.datetime.combine(day + dt.timedelta(days=1 if end_of_day else 0), dt.time.min)
        else:
            parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(
            f"{field} must be an ISO-8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00Z; got {value!r}.",
            field=field,
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: dt.datetime | None = None
    since_text: str = ""
    until: dt.datetime | None = None  # exclusive
    until_text: str = ""

    @classmethod
    def parse(cls, params) -> AuditFilters:
        values = {name: (params.get(name) or "").strip()[:255] for name in FILTER_FIELDS}
        since_text = (params.get("since") or "").strip()
        since = parse_since(since_text) if since_text else None
        until_text = (params.get("until") or "").strip()
        until = parse_since(until_text, field="until", end_of_day=True) if until_text else None
        if since is not None and until is not None and until <= since:
            raise InvalidInput(
                f"until ({until_text}) must be later than since ({since_text}).", field="until"
            )
        return cls(**values, since=since, since_text=since_text, until=until, until_text=until_text)

    @property
    def active(self) -> bool:
        return (
            any(getattr(self, f) for f in FILTER_FIELDS) or self.since is not None or self.until is not None
        )

    def querystring(self) -> str:
        from urllib.parse import urlencode

        pairs = [(f, getattr(self, f)) for f in FILTER_FIELDS if getattr(self, f)]
        if self.since_text:
            pairs.append(("since", self.since_text))
        if self.until_text:
            pairs.append(("until", self.until_text))
        return urlencode(pairs)


def events(filters: AuditFilters | None = None, *, newest_first: bool = False) -> QuerySet[AuditEvent]:
    """Events oldest first (the chain's order; newest first on request), filtered exactly on each given field."""
    qs = AuditEvent.objects.order_by("-seq" if newest_first else "seq")
    if filters is None:
        return qs
    for name in FILTER_FIELDS:
        value = getattr(filters, name)
        if value:
            # A trailing "." filters a family of actions: "promotion." matches promotion.requested, ...
            if name == "action" and value.endswith("."):
                qs = qs.filter(action__startswith=value)
            else:
                qs = qs.filter(**{name: value})
    if filters.since is not None:
        qs = qs.filter(at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(at__lt=filters.until)
    return qs


def action_names() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()[:200])


def head() -> AuditEvent | None:
    return AuditEvent.objects.order_by("-seq").first()
