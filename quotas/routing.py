from __future__ import annotations

from django.urls import path

from quotas.consumers import QuotasConsumer

QUOTAS_WS_PATH = "/ws/quotas/"

websocket_urlpatterns = [
    path(QUOTAS_WS_PATH.lstrip("/"), QuotasConsumer.as_asgi()),
]
