from __future__ import annotations

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("deployments/scale", views.deployment_scale, name="deployment-scale"),
    path("traffic/", views.traffic, name="traffic"),
    path("traffic/probes/start", views.probe_start, name="probe-start"),
    path("traffic/probes/rate", views.probe_rate, name="probe-rate"),
    path("traffic/probes/stop", views.probe_stop, name="probe-stop"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
]
