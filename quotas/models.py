"""The audit trail of LimitRange actions: who did what to which namespace, before and after, and the result."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class QuotaAction(models.Model):  # Django ships no types here
    APPLY = "apply"
    DELETE = "delete"
    ACTIONS = [(APPLY, "apply LimitRange"), (DELETE, "delete LimitRange")]
    OK = "ok"
    REFUSED = "refused"  # the API said no (422 Invalid, 403 Forbidden, 404, 409…)
    RESULTS = [(OK, "ok"), (REFUSED, "refused")]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150)  # kept when the user is deleted
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    cluster = models.CharField(max_length=253)
    namespace = models.CharField(max_length=63)
    action = models.CharField(max_length=16, choices=ACTIONS)
    name = models.CharField(max_length=253)  # the LimitRange
    before = models.JSONField(null=True, blank=True)  # its spec before, None when it did not exist
    after = models.JSONField(null=True, blank=True)  # its spec after, None when deleted or refused
    result = models.CharField(max_length=16, choices=RESULTS)
    message = models.TextField(blank=True)  # Kubernetes' own words when refused

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["cluster", "namespace", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.namespace}/{self.name}: {self.result}"
