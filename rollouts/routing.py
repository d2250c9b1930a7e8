from __future__ import annotations

from django.urls import path

from rollouts.consumers import RolloutConsumer

ROLLOUT_WS_PATH = "/ws/rollouts/"

websocket_urlpatterns = [
    path(ROLLOUT_WS_PATH.lstrip("/"), RolloutConsumer.as_asgi()),
]
