from __future__ import annotations

from django.urls import path

from dashboard.consumers import OverviewConsumer, TrafficConsumer

OVERVIEW_WS_PATH = "/ws/overview/"
TRAFFIC_WS_PATH = "/ws/traffic/"

websocket_urlpatterns = [
    path(OVERVIEW_WS_PATH.lstrip("/"), OverviewConsumer.as_asgi()),
    path(TRAFFIC_WS_PATH.lstrip("/"), TrafficConsumer.as_asgi()),
]
