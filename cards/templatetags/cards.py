"""Template helpers for other apps' pages: completeness meters in version lists with ONE query.

{% load cards %}
{% card_scores rows as scores %}          {# rows: versions, or (version, ...) tuples #}
... {% card_meter scores mv %} ...
"""

from django import template

from cards.panels import meter
from cards.selectors import scores_for_versions

register = template.Library()


@register.simple_tag
def card_scores(versions) -> dict:
    items = [v[0] if isinstance(v, list | tuple) else v for v in (versions or [])]
    return scores_for_versions(items)


@register.inclusion_tag("cards/_meter.html")
def card_meter(scores, mv, show_label=True):
    return meter(scores, mv, show_label)
