"""Admin: API tokens are listed, never displayed (a key is shown once, to its owner, at creation).

DRF's token admin shows every key; worse, a token's primary key *is* its key, so any change link, delete
checkbox or admin log line would carry it too. This listing has none of them: who has a token, since when.
A token is revoked by its owner (rotate on the profile page) or by deactivating the user.
"""

from django.contrib import admin
from rest_framework.authtoken.models import TokenProxy


class TokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created")
    list_display_links = None
    actions = None
    search_fields = ("user__username",)
    ordering = ("-created",)

    def has_add_permission(self, request):
        return False  # a token made here would be a key its owner never chose, known to staff

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        return None  # no page per token: its URL would be the key


if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, TokenAdmin)
