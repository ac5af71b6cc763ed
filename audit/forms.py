"""The audit page's filter form: the same rules as the API's filters (selectors.AuditFilters), with the errors
attached to the fields they concern so the page can show them beside the inputs."""

from __future__ import annotations

from django import forms

from audit.selectors import FILTER_FIELDS, AuditFilters
from common.errors import InvalidInput

ORDERS = (("newest", "Newest first"), ("oldest", "Oldest first"))


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=255)
    action = forms.CharField(required=False, max_length=255)
    object_type = forms.CharField(required=False, max_length=255)
    object_id = forms.CharField(required=False, max_length=255)
    since = forms.CharField(required=False, max_length=64)
    until = forms.CharField(required=False, max_length=64)
    order = forms.ChoiceField(required=False, choices=ORDERS)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["filters"] = AuditFilters.parse(
                {name: cleaned.get(name, "") for name in (*FILTER_FIELDS, "since", "until")}
            )
        except InvalidInput as exc:
            field = exc.extra.get("field")
            self.add_error(field if field in self.fields else None, str(exc))
        return cleaned

    @property
    def filters(self) -> AuditFilters:
        return self.cleaned_data["filters"]

    @property
    def newest_first(self) -> bool:
        return self.cleaned_data.get("order") != "oldest"
