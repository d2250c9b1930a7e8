from __future__ import annotations

from django.apps import AppConfig


class QuotasConfig(AppConfig):  # Django ships no types here
    name = "quotas"
    verbose_name = "Quotas"
    default_auto_field = "django.db.models.BigAutoField"
