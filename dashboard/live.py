"""The machinery every live-partial websocket shares: refuse anonymous users with a close code, read what the
user may do, join the hub's Channels groups for one cluster, and push coalesced re-renders of htmx partials."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import hub
from dashboard.metrics import WEBSOCKET_CLIENTS
from dashboard.roles import operate_refusal, user_can_operate

UNAUTHENTICATED = 4401  # 4000 + HTTP 401: a close code the page can tell from a network drop
COALESCE_SECONDS = 0.1  # a burst of watch events (a scale to 50) becomes one render


async def anonymous_refused(consumer: AsyncWebsocketConsumer) -> bool:
    """Close an anonymous user's socket with UNAUTHENTICATED; True when it was closed."""
    user = consumer.scope.get("user")
    if user is not None and user.is_authenticated:
        return False
    await consumer.accept()  # accept first so the browser sees our close code, not a failed handshake
    await consumer.close(code=UNAUTHENTICATED)
    return True


class LivePartialConsumer(AsyncWebsocketConsumer):  # Channels ships no types here
    """A page's live partials. Subclasses fill in:

    - ``kinds``: the hub kinds (or app group kinds) whose per-cluster Channels groups to join;
    - ``resolve(query)``: set ``cluster`` and ``namespace`` (and whatever the render needs) from the query;
    - ``render_html()`` (run in a worker thread) or ``render()``: the HTML to push, "" for nothing;
    - ``metrics_label``: the page label of the websocket-clients gauge (None: not counted);

    and their group message handlers call ``schedule_render()``. ``kube_changed`` is handled here.
    """

    kinds: tuple[str, ...] = ()
    metrics_label: str | None = None
    cluster = ""
    namespace = ""
    can_operate = False
    refusal = ""
    joined: tuple[str, ...] = ()
    live = False  # accepted and in its groups
    counted = False
    _pending: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if await anonymous_refused(self):
            return
        user = self.scope["user"]
        self.can_operate = await database_sync_to_async(user_can_operate)(user)
        self.refusal = await database_sync_to_async(operate_refusal)(user)
        hub.bind_loop(asyncio.get_running_loop())
        query = parse_qs(self.scope.get("query_string", b"").decode(), keep_blank_values=True)
        await self.resolve(query)
        self.joined = tuple(hub.group_name(self.cluster, kind) for kind in self.kinds)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.live = True
        if self.metrics_label is not None:
            WEBSOCKET_CLIENTS.labels(self.metrics_label).inc()
            self.counted = True
        await self.send_render()  # the page may have been rendered before a change we did not see

    async def disconnect(self, code: int) -> None:
        if self._pending is not None:
            self._pending.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.counted and self.metrics_label is not None:
            WEBSOCKET_CLIENTS.labels(self.metrics_label).dec()
            self.counted = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page sends nothing we act on (ext-ws may send form values); actions go through POST + CSRF."""

    async def kube_changed(self, event: dict[str, Any]) -> None:
        if self.shows_namespace(event.get("namespace")):
            self.schedule_render()

    def shows_namespace(self, namespace: str | None) -> bool:
        """Whether a change in ``namespace`` ("": cluster-scoped) can change what this socket shows."""
        return not self.namespace or namespace in ("", self.namespace)

    def schedule_render(self) -> None:
        """Re-render after COALESCE_SECONDS, once for however many changes arrive meanwhile."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._coalesced_send())

    async def _coalesced_send(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        self._pending = None  # changes during rendering schedule the next send
        with contextlib.suppress(asyncio.CancelledError):
            await self.send_render()

    async def send_render(self) -> None:
        html = await self.render()
        if html:
            await self.send(text_data=html)

    async def resolve(self, query: dict[str, list[str]]) -> None:
        """Subclass hook (required): set the cluster and namespace this socket follows from its query."""
        raise NotImplementedError

    async def render(self) -> str:
        """The HTML to push; by default ``render_html`` in a worker thread (it reads only the hub's cache)."""
        return await sync_to_async(self.render_html, thread_sensitive=False)()

    def render_html(self) -> str:
        """Subclass hook (required unless `render` is overridden): the partial's HTML."""
        raise NotImplementedError
