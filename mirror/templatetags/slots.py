"""`{% slot "name" %}`: the panels other apps gave for a slot of this page (`mirror.slots`), each rendered with
the page's context plus its own. `{% slot_columns "name" as columns %}` and `{% cell column row %}`: the
columns other apps add to a table of the page, and a row's cell."""

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def slot(context: template.Context, name: str) -> SafeString:
    html = []
    for panel in (context.get("slots") or {}).get(name, ()):
        panel_template = context.template.engine.get_template(panel.template)
        with context.push(**panel.context):
            html.append(panel_template.render(context))
    return mark_safe("".join(html))  # each panel is a template's output, escaped by its own autoescaping


@register.simple_tag(takes_context=True)
def slot_columns(context: template.Context, name: str) -> list:
    return list((context.get("slots") or {}).get(name, ()))


@register.simple_tag
def cell(column, row) -> SafeString:
    return mark_safe(column.cells.get(row.pk, ""))  # rendered by the providing app's template
