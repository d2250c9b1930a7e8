from __future__ import annotations

from django.contrib import admin

from dashboard.models import ClusterAction


@admin.register(ClusterAction)
class ClusterActionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "cluster", "namespace", "action", "target", "result")
    list_filter = ("action", "result", "namespace")
    search_fields = ("actor", "target", "namespace", "message")
    readonly_fields = [f.name for f in ClusterAction._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False  # written by dashboard.services only

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
