"""Websockets: the overview (re-rendered partials after watch events) and the traffic view (probe frames)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import hub, probes
from dashboard.live import LivePartialConsumer, anonymous_refused
from dashboard.metrics import WEBSOCKET_CLIENTS
from dashboard.partials import overview_live_render
from dashboard.selectors import overview_get, traffic_frame_get


class OverviewConsumer(LivePartialConsumer):
    kinds = hub.OVERVIEW_KINDS
    metrics_label = "overview"

    async def resolve(self, query: dict[str, list[str]]) -> None:
        overview = await sync_to_async(overview_get, thread_sensitive=False)(
            cluster=query.get("cluster", [None])[0], namespace=query.get("namespace", [None])[0]
        )  # namespace "" = all namespaces
        self.cluster, self.namespace = overview.cluster, overview.namespace

    def render_html(self) -> str:
        overview = overview_get(cluster=self.cluster, namespace=self.namespace, wait=0.0)
        return overview_live_render(
            overview=overview, can_operate=self.can_operate, operate_refusal=self.refusal
        )


class TrafficConsumer(AsyncWebsocketConsumer):
    """One probe's live frames (JSON, built once per tick by ``dashboard.probes.Broadcaster``)."""

    key = ""
    counted = False

    async def connect(self) -> None:
        if await anonymous_refused(self):
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.key = query.get("probe", [""])[0]
        if not self.key:
            await self.accept()
            await self.close(code=4400)  # nothing to watch
            return
        await self.channel_layer.group_add(probes.group_name(self.key), self.channel_name)
        await self.accept()
        WEBSOCKET_CLIENTS.labels("traffic").inc()
        self.counted = True
        broadcaster = probes.broadcaster(asyncio.get_running_loop())
        broadcaster.watch(self.key)
        await self.send(text_data=json.dumps(traffic_frame_get(key=self.key)))  # no wait for the first tick

    async def disconnect(self, code: int) -> None:
        if not self.counted:
            return
        self.counted = False
        await self.channel_layer.group_discard(probes.group_name(self.key), self.channel_name)
        WEBSOCKET_CLIENTS.labels("traffic").dec()
        probes.broadcaster(asyncio.get_running_loop()).unwatch(self.key)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Viewers only listen; operators act through the CSRF-checked views."""

    async def traffic_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
