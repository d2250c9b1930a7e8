"""A single-node scheduler: every pod without ``spec.nodeName`` is bound to the node `sandbox`.

The store has no ``pods/binding`` subresource and a pod's ``spec.nodeName`` cannot be changed by an
update, so binding happens where the API server would accept it: a mutating admission plug-in sets
``nodeName`` on CREATE (for pods of the default scheduler). The component then does what the scheduler
reports after a bind: the ``PodScheduled`` condition and the ``Scheduled`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, Watch, now_rfc3339
from sandbox.hooks import SYSTEM, Operation, SandboxContext, UserInfo
from sandbox.kubelet.events import EventRecorder
from sandbox.kubelet.node import NODE_NAME

log = logging.getLogger(__name__)
SCHEDULER_NAME = "default-scheduler"


class NodeBinding:
    """Mutating admission: binds new pods of the default scheduler to the node."""

    async def admit(
        self,
        op: Operation,
        resource: str,
        obj: dict[str, Any] | None,
        old: dict[str, Any] | None,
        user: UserInfo,
    ) -> None:
        if op != "CREATE" or resource != "pods" or obj is None:
            return
        spec = obj.get("spec")
        if not isinstance(spec, dict) or spec.get("nodeName"):
            return
        if (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME:
            spec["nodeName"] = NODE_NAME


def _is_scheduled(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


class Scheduler:
    """Reports the binding of pods bound to `sandbox` (PodScheduled=True and a `Scheduled` event)."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._watch: Watch | None = None
        self._task: asyncio.Task[None] | None = None
        self.scheduled = 0

    async def start(self, ctx: SandboxContext) -> None:
        self._store = ctx.store
        self._events = EventRecorder(ctx.store, component=SCHEDULER_NAME, host="")
        # Replays current pods as ADDED first, then follows.
        self._watch = ctx.store.watch("pods", predicate=self._needs_report)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="kubelet-scheduler")

    @staticmethod
    def _needs_report(pod: dict[str, Any]) -> bool:
        return (
            (pod.get("spec") or {}).get("nodeName") == NODE_NAME
            and not _is_scheduled(pod)
            and not (pod.get("metadata") or {}).get("deletionTimestamp")
        )

    async def _run(self) -> None:
        assert self._watch is not None
        async for ev in self._watch:
            if ev.type != "DELETED":
                try:
                    await self.report(ev.obj)
                except APIError as exc:
                    log.debug("scheduler: %s/%s: %s", ev.namespace, ev.name, exc)

    async def report(self, pod: dict[str, Any]) -> None:
        assert self._store is not None
        meta = pod["metadata"]
        now = now_rfc3339()

        def scheduled(current: dict[str, Any]) -> dict[str, Any]:
            status = current.setdefault("status", {})
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conditions.append(
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
            )
            status["conditions"] = conditions
            status.setdefault("phase", "Pending")
            return current

        await self._store.patch_entry(
            "pods", meta.get("namespace"), meta["name"], scheduled, subresource="status", user=SYSTEM
        )
        self.scheduled += 1
        await self._events.pod_event(
            pod, "Scheduled", f"Successfully assigned {meta.get('namespace')}/{meta['name']} to {NODE_NAME}"
        )

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
