"""The quotas page's websocket: joins the hub's groups for one cluster and pushes re-rendered partials."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import hub
from dashboard.roles import operate_refusal, user_can_operate
from quotas.partials import quota_actions_recent, quotas_live_render
from quotas.selectors import quota_page_get
from quotas.services import QUOTAS_GROUP_KIND

UNAUTHENTICATED = 4401  # 4000 + HTTP 401, as the overview's socket
COALESCE_SECONDS = 0.1  # a burst of watch events (a ReplicaSet retrying) becomes one render
# Changes that move a bar or a held-back row; namespaces and deployments are read but never trigger.
LIVE_KINDS = ("resourcequotas", "pods", "events", "replicasets", "limitranges", QUOTAS_GROUP_KIND)


class QuotasConsumer(AsyncWebsocketConsumer):  # Channels ships no types here
    cluster = ""
    namespace = ""
    joined: tuple[str, ...] = ()
    _pending: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()  # accept first so the browser sees our close code, not a failed handshake
            await self.close(code=UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.can_operate = await database_sync_to_async(user_can_operate)(user)
        self.refusal = await database_sync_to_async(operate_refusal)(user)
        hub.bind_loop(asyncio.get_running_loop())
        page = await sync_to_async(quota_page_get, thread_sensitive=False)(
            cluster=query.get("cluster", [None])[0], namespace=query.get("namespace", [""])[0]
        )
        self.cluster, self.namespace = page.cluster, page.namespace
        self.joined = tuple(hub.group_name(self.cluster, kind) for kind in LIVE_KINDS)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self._send_render()  # the page may have been rendered before a change we did not see

    async def disconnect(self, code: int) -> None:
        if self._pending is not None:
            self._pending.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page sends nothing we act on."""

    async def kube_changed(self, event: dict[str, Any]) -> None:
        if self.namespace and event.get("namespace") not in ("", self.namespace):
            return
        self._schedule()

    async def quotas_changed(self, event: dict[str, Any]) -> None:
        """An audited LimitRange action committed (sent from transaction.on_commit)."""
        if self.namespace and event.get("namespace") != self.namespace:
            return
        self._schedule()

    def _schedule(self) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._coalesced_send())

    async def _coalesced_send(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        self._pending = None  # changes during rendering schedule the next send
        with contextlib.suppress(asyncio.CancelledError):
            await self._send_render()

    async def _send_render(self) -> None:
        actions = await database_sync_to_async(quota_actions_recent)(
            cluster=self.cluster, namespace=self.namespace
        )
        html = await sync_to_async(self._render, thread_sensitive=False)(actions)
        await self.send(text_data=html)

    def _render(self, actions: list[Any]) -> str:
        page = quota_page_get(cluster=self.cluster, namespace=self.namespace, wait=0.0)
        return quotas_live_render(
            page=page, actions=actions, can_operate=self.can_operate, operate_refusal=self.refusal
        )
