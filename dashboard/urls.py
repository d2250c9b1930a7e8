from __future__ import annotations

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("deployments/scale", views.deployment_scale, name="deployment-scale"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
]
