"""Websockets: the overview (re-rendered partials after watch events) and the traffic view (probe frames)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import hub, probes
from dashboard.metrics import WEBSOCKET_CLIENTS
from dashboard.partials import overview_live_render
from dashboard.roles import operate_refusal, user_can_operate
from dashboard.selectors import overview_get, traffic_frame_get

UNAUTHENTICATED = 4401  # 4000 + HTTP 401: a close code the page can tell from a network drop
COALESCE_SECONDS = 0.1  # a burst of watch events (a scale to 50) becomes one render


class OverviewConsumer(AsyncWebsocketConsumer):
    cluster = ""
    namespace = ""
    joined: tuple[str, ...] = ()
    counted = False
    _pending: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()  # accept first so the browser sees our close code, not a failed handshake
            await self.close(code=UNAUTHENTICATED)
            return
        query = parse_qs(
            self.scope.get("query_string", b"").decode(), keep_blank_values=True
        )  # "" = all namespaces
        self.can_operate = await database_sync_to_async(user_can_operate)(user)
        self.refusal = await database_sync_to_async(operate_refusal)(user)
        hub.bind_loop(asyncio.get_running_loop())
        overview = await sync_to_async(overview_get, thread_sensitive=False)(
            cluster=query.get("cluster", [None])[0], namespace=query.get("namespace", [None])[0]
        )
        self.cluster, self.namespace = overview.cluster, overview.namespace
        self.joined = tuple(hub.group_name(self.cluster, kind) for kind in hub.OVERVIEW_KINDS)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        WEBSOCKET_CLIENTS.labels("overview").inc()
        self.counted = True
        await self._send_render()  # the page may have been rendered before a change we did not see

    async def disconnect(self, code: int) -> None:
        if self._pending is not None:
            self._pending.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.counted:
            WEBSOCKET_CLIENTS.labels("overview").dec()
            self.counted = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page sends nothing we act on; ext-ws may send form values, which are ignored."""

    async def kube_changed(self, event: dict[str, Any]) -> None:
        if self.namespace and event.get("namespace") not in ("", self.namespace):
            return
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._coalesced_send())

    async def _coalesced_send(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        self._pending = None  # changes during rendering schedule the next send
        with contextlib.suppress(asyncio.CancelledError):
            await self._send_render()

    async def _send_render(self) -> None:
        html = await sync_to_async(self._render, thread_sensitive=False)()
        await self.send(text_data=html)

    def _render(self) -> str:
        overview = overview_get(cluster=self.cluster, namespace=self.namespace, wait=0.0)
        return overview_live_render(
            overview=overview, can_operate=self.can_operate, operate_refusal=self.refusal
        )


class TrafficConsumer(AsyncWebsocketConsumer):
    """One probe's live frames (JSON, built once per tick by ``dashboard.probes.Broadcaster``)."""

    key = ""
    counted = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=UNAUTHENTICATED)
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
