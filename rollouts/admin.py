from __future__ import annotations

from django.contrib import admin

from rollouts.models import CanaryPlan, RolloutAction, ScheduledStep


@admin.register(RolloutAction)
class RolloutActionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "source", "cluster", "namespace", "rollout", "action", "result")
    list_filter = ("action", "result", "source", "namespace")
    search_fields = ("actor", "rollout", "namespace", "message")
    readonly_fields = [f.name for f in RolloutAction._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False  # the audit is written by the services only

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ScheduledStep)
class ScheduledStepAdmin(admin.ModelAdmin):
    list_display = ("due_at", "kind", "namespace", "rollout", "deployment", "track", "state")
    list_filter = ("kind", "state")


@admin.register(CanaryPlan)
class CanaryPlanAdmin(admin.ModelAdmin):
    list_display = ("namespace", "rollout", "steps", "index", "paused", "active", "updated_at")
