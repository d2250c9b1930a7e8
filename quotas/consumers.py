"""The quotas page's websocket: joins the hub's groups for one cluster and pushes re-rendered partials."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from dashboard.live import LivePartialConsumer
from quotas.partials import quota_actions_recent, quotas_live_render
from quotas.selectors import quota_page_get
from quotas.services import QUOTAS_GROUP_KIND

# Changes that move a bar or a held-back row; namespaces and deployments are read but never trigger.
LIVE_KINDS = ("resourcequotas", "pods", "events", "replicasets", "limitranges", QUOTAS_GROUP_KIND)


class QuotasConsumer(LivePartialConsumer):
    kinds = LIVE_KINDS

    async def resolve(self, query: dict[str, list[str]]) -> None:
        page = await sync_to_async(quota_page_get, thread_sensitive=False)(
            cluster=query.get("cluster", [None])[0], namespace=query.get("namespace", [""])[0]
        )
        self.cluster, self.namespace = page.cluster, page.namespace

    async def quotas_changed(self, event: dict[str, Any]) -> None:
        """An audited LimitRange action committed (sent from transaction.on_commit)."""
        if self.namespace and event.get("namespace") != self.namespace:
            return
        self.schedule_render()

    async def render(self) -> str:
        actions = await database_sync_to_async(quota_actions_recent)(
            cluster=self.cluster, namespace=self.namespace
        )
        return await sync_to_async(self._render, thread_sensitive=False)(actions)

    def _render(self, actions: list[Any]) -> str:
        page = quota_page_get(cluster=self.cluster, namespace=self.namespace, wait=0.0)
        return quotas_live_render(
            page=page, actions=actions, can_operate=self.can_operate, operate_refusal=self.refusal
        )
