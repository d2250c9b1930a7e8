"""The rollout card's websocket: re-renders the card on watch changes and audited actions, and the
traffic share every second while a probe runs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from dashboard import hub
from dashboard.live import LivePartialConsumer
from rollouts import services
from rollouts.partials import rollout_card_render, rollout_tick_render
from rollouts.selectors import rollout_get
from rollouts.services import Actor

TRAFFIC_EVERY_S = 1.0
ROLLOUT_KINDS = ("services", "deployments")
ROLLOUTS_GROUP_KIND = "rollouts"  # the Channels group (per cluster) that hears about audited actions


def rollouts_group(cluster: str) -> str:
    return hub.group_name(cluster, ROLLOUTS_GROUP_KIND)


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


class RolloutConsumer(LivePartialConsumer):
    kinds = (*ROLLOUT_KINDS, ROLLOUTS_GROUP_KIND)
    name = ""
    _ticker: asyncio.Task[None] | None = None

    async def resolve(self, query: dict[str, list[str]]) -> None:
        global _loop
        self.namespace = query.get("namespace", [""])[0]
        self.name = query.get("name", [""])[0]
        self.actor = await database_sync_to_async(Actor.from_user)(self.scope["user"])
        _loop = asyncio.get_running_loop()
        services.listener_add(_broadcast)
        self.cluster = hub.cluster_choose(query.get("cluster", [""])[0]) or ""

    async def connect(self) -> None:
        await super().connect()
        if self.live:
            self._ticker = asyncio.create_task(self._tick())

    async def disconnect(self, code: int) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await super().disconnect(code)

    def shows_namespace(self, namespace: str | None) -> bool:
        return namespace in ("", self.namespace)  # a card lives in one namespace, even when it is ""

    async def rollout_updated(self, event: dict[str, Any]) -> None:
        if event.get("namespace") == self.namespace and event.get("name") == self.name:
            self.schedule_render()

    async def _tick(self) -> None:
        # The traffic share and the scale-down countdown move without any watch event: only they are
        # re-sent, so an open confirmation in the card stays open.
        while True:
            await asyncio.sleep(TRAFFIC_EVERY_S)
            html = await self.render(tick=True)
            if html:
                await self.send(text_data=html)

    async def render(self, *, tick: bool = False) -> str:
        html: str = await database_sync_to_async(self._render)(tick)
        return html

    def _render(self, tick: bool) -> str:
        rollout = rollout_get(cluster=self.cluster, namespace=self.namespace, name=self.name, wait=0.0)
        if rollout is None:
            return ""
        cluster = hub.get_hub().clusters.get(self.cluster)
        if tick:
            return rollout_tick_render(rollout, actor=self.actor, cluster=cluster)
        return rollout_card_render(rollout, actor=self.actor, cluster=cluster, oob=True)


__all__ = ["RolloutConsumer", "rollouts_group"]
