from __future__ import annotations

from django.urls import path

from dashboard.consumers import OverviewConsumer

OVERVIEW_WS_PATH = "/ws/overview/"

websocket_urlpatterns = [
    path(OVERVIEW_WS_PATH.lstrip("/"), OverviewConsumer.as_asgi()),
]
