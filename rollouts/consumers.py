"""The rollout card's websocket: re-renders the card on watch changes and audited actions, and the
traffic share every second while a probe runs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from dashboard import hub
from rollouts import services
from rollouts.partials import rollout_card_render, rollout_tick_render
from rollouts.selectors import rollout_get
from rollouts.services import Actor

UNAUTHENTICATED = 4401
COALESCE_SECONDS = 0.1
TRAFFIC_EVERY_S = 1.0
ROLLOUT_KINDS = ("services", "deployments")


def rollouts_group(cluster: str) -> str:
    return hub.group_name(cluster, "rollouts")


_loop: asyncio.AbstractEventLoop | None = None


def _broadcast(cluster: str, namespace: str, name: str) -> None:
    """services' after-commit listener: tell the consumers (from any thread) that an action was audited."""
    loop, layer = _loop, get_channel_layer()
    if loop is None or loop.is_closed() or layer is None:
        return
    message = {"type": "rollout.updated", "namespace": namespace, "name": name}

    def send() -> None:
        loop.create_task(layer.group_send(rollouts_group(cluster), message))

    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(send)


class RolloutConsumer(AsyncWebsocketConsumer):
    cluster = namespace = name = ""
    joined: tuple[str, ...] = ()
    _pending: asyncio.Task[None] | None = None
    _ticker: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        global _loop
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.namespace = query.get("namespace", [""])[0]
        self.name = query.get("name", [""])[0]
        self.actor = await database_sync_to_async(Actor.from_user)(user)
        _loop = asyncio.get_running_loop()
        hub.bind_loop(_loop)
        services.listener_add(_broadcast)
        names = list(hub.get_hub().clusters)
        wanted = query.get("cluster", [""])[0]
        self.cluster = wanted if wanted in names else (names[0] if names else "")
        self.joined = (
            *(hub.group_name(self.cluster, kind) for kind in ROLLOUT_KINDS),
            rollouts_group(self.cluster),
        )
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self._send_render()
        self._ticker = asyncio.create_task(self._tick())

    async def disconnect(self, code: int) -> None:
        for task in (self._pending, self._ticker):
            if task is not None:
                task.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Nothing the page sends is acted on: actions go through POST with CSRF."""

    async def kube_changed(self, event: dict[str, Any]) -> None:
        if event.get("namespace") not in ("", self.namespace):
            return
        self._schedule()

    async def rollout_updated(self, event: dict[str, Any]) -> None:
        if event.get("namespace") == self.namespace and event.get("name") == self.name:
            self._schedule()

    def _schedule(self) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._coalesced_send())

    async def _coalesced_send(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        self._pending = None
        with contextlib.suppress(asyncio.CancelledError):
            await self._send_render()

    async def _tick(self) -> None:
        # The traffic share and the scale-down countdown move without any watch event: only they are
        # re-sent, so an open confirmation in the card stays open.
        while True:
            await asyncio.sleep(TRAFFIC_EVERY_S)
            await self._send_render(tick=True)

    async def _send_render(self, *, tick: bool = False) -> None:
        html = await database_sync_to_async(self._render)(tick)
        if html:
            await self.send(text_data=html)

    def _render(self, tick: bool = False) -> str:
        rollout = rollout_get(cluster=self.cluster, namespace=self.namespace, name=self.name, wait=0.0)
        if rollout is None:
            return ""
        cluster = hub.get_hub().clusters.get(self.cluster)
        if tick:
            return rollout_tick_render(rollout, actor=self.actor, cluster=cluster)
        return rollout_card_render(rollout, actor=self.actor, cluster=cluster, oob=True)


__all__ = ["RolloutConsumer", "rollouts_group"]
