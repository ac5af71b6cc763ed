"""Admin: API tokens are listed, never displayed (only a hash is stored; a key is shown once, at creation).

Read-only: who has which token, its state and dates. Revoking is the owner's (profile page, API) or staff's
(DELETE /api/v1/tokens/{id}), so that each revocation is audited.
"""

from django.contrib import admin

from accounts.models import ApiToken, ServiceAccount


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "lookup", "created_at", "expires_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    search_fields = ("user__username", "name")
    ordering = ("-created_at",)
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "created_by", "created_at")
    actions = None

    def has_add_permission(self, request):
        return False  # through the API or the profile page: audited, with a first token

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
