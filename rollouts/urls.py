from __future__ import annotations

from django.urls import path

from rollouts import views

urlpatterns = [
    path("", views.rollout_list, name="rollout-list"),
    path("<str:namespace>/<str:name>/", views.rollout_detail, name="rollout-detail"),
    path("<str:namespace>/<str:name>/history", views.rollout_history, name="rollout-history"),
    path("<str:namespace>/<str:name>/traffic", views.rollout_traffic, name="rollout-traffic"),
    path("<str:namespace>/<str:name>/probe", views.rollout_probe, name="rollout-probe"),
    path("<str:namespace>/<str:name>/<str:action>", views.rollout_action, name="rollout-action"),
]
