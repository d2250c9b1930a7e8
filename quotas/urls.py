from __future__ import annotations

from django.urls import path

from quotas import views

app_name = "quotas"

urlpatterns = [
    path("", views.quotas, name="page"),
    path("limitranges/preview", views.limitrange_preview, name="limitrange-preview"),
    path("limitranges/apply", views.limitrange_apply, name="limitrange-apply"),
    path("limitranges/delete", views.limitrange_delete, name="limitrange-delete"),
]
