"""No tables: one permission holder, so `dashboard.operate_cluster` exists and groups can carry it."""

from __future__ import annotations

from django.db import models


class ClusterAccess(models.Model):
    class Meta:
        managed = False  # holds permissions only; never a table
        default_permissions = ()
        permissions = [("operate_cluster", "Can change cluster objects (scale, switch, apply)")]
