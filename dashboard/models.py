"""No tables: one permission holder, so `dashboard.operate_cluster` exists and groups can carry it."""

from __future__ import annotations

from django.db import models


class ClusterAccess(models.Model):
    class Meta:
        managed = False  # holds permissions only; never a table
        default_permissions = ()
        permissions = [("operate_cluster", "Can change cluster objects (scale, switch, apply)")]


class ClusterAction(models.Model):
    """Audit of the overview's and traffic view's actions: every attempt, applied or not, with before/after."""

    APPLIED, FAILED = "applied", "failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150)
    cluster = models.CharField(max_length=253, blank=True)
    namespace = models.CharField(max_length=253, blank=True)
    target = models.CharField(max_length=512)  # "deployment/web", or a probe's key
    action = models.CharField(max_length=32)  # scale, probe-start, probe-rate, probe-stop
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    result = models.CharField(max_length=16)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}: {self.result}"
