from __future__ import annotations

from django.contrib import admin

from quotas.models import QuotaAction


@admin.register(QuotaAction)
class QuotaActionAdmin(admin.ModelAdmin):  # Django ships no types here
    list_display = ("at", "username", "cluster", "namespace", "action", "name", "result")
    list_filter = ("action", "result", "cluster")
    search_fields = ("username", "namespace", "name", "message")
    readonly_fields = [f.name for f in QuotaAction._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False  # the audit trail is written by the services only

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
