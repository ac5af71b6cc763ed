"""Template filters of the audit pages."""

import json

from django import template

register = template.Library()


@register.filter
def as_json(value) -> str:
    """An event's data as pretty JSON (what the API and the export hold), not a Python repr. Escaped by the
    template's autoescaping like any other text."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
