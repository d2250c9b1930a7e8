"""The audit of every rollout action, and the timers (scale-down delay, switch when Available, canary plans)."""

from __future__ import annotations

from django.db import models


class RolloutAction(models.Model):
    """One attempt by someone to change a rollout, whatever its result; written with the decision."""

    APPLIED = "applied"
    NOOP = "noop"  # already in the asked state: idempotent, nothing changed
    SCHEDULED = "scheduled"  # accepted; the change happens when its condition holds (scale up, delay)
    REFUSED = "refused"  # a gate said no (not Available, quota, bad input)
    CONFLICT = "conflict"  # changed since the actor loaded it
    FORBIDDEN = "forbidden"  # role or cluster RBAC
    FAILED = "failed"  # the API refused or was unreachable
    RESULTS = [(r, r) for r in (APPLIED, NOOP, SCHEDULED, REFUSED, CONFLICT, FORBIDDEN, FAILED)]

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150)
    source = models.CharField(max_length=16, default="web")  # web, cli, scheduler
    cluster = models.CharField(max_length=253)
    namespace = models.CharField(max_length=253)
    rollout = models.CharField(max_length=253)  # the Service's name
    action = models.CharField(max_length=32)
    before = models.JSONField(default=dict)  # {"selector": {...}, "replicas": {deployment: n}}
    after = models.JSONField(default=dict)
    result = models.CharField(max_length=16, choices=RESULTS)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["cluster", "namespace", "rollout", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.namespace}/{self.rollout}: {self.result}"


class ScheduledStep(models.Model):
    """Something to do later for a rollout: scale the old colour down after the delay, or switch once the
    target is Available. Kept in the database so another process (or a restart) can finish it."""

    SCALE_DOWN = "scale-down"
    SWITCH_WHEN_AVAILABLE = "switch-when-available"
    PENDING, DONE, CANCELLED, FAILED = "pending", "done", "cancelled", "failed"

    created_at = models.DateTimeField(auto_now_add=True)
    cluster = models.CharField(max_length=253)
    namespace = models.CharField(max_length=253)
    rollout = models.CharField(max_length=253)
    kind = models.CharField(max_length=32)
    deployment = models.CharField(max_length=253)  # scale-down: what to scale to 0
    track = models.CharField(max_length=253, blank=True)  # switch: the value to switch to
    due_at = models.DateTimeField(db_index=True)
    deadline_at = models.DateTimeField(null=True)  # switch-when-available gives up after this
    actor = models.CharField(max_length=150)
    state = models.CharField(max_length=16, default=PENDING, db_index=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at", "id"]


class CanaryPlan(models.Model):
    """Weight steps that advance on a timer, paused by a person or by the error-rate gate."""

    cluster = models.CharField(max_length=253)
    namespace = models.CharField(max_length=253)
    rollout = models.CharField(max_length=253)
    steps = models.JSONField(default=list)  # weights in percent
    index = models.IntegerField(default=0)  # the step applied last
    interval_s = models.FloatField(default=60.0)
    max_error_rate = models.FloatField(default=0.05)
    next_at = models.DateTimeField(null=True)
    paused = models.BooleanField(default=False)
    paused_reason = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    actor = models.CharField(max_length=150)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "namespace", "rollout"], name="one_plan_per_rollout")
        ]
