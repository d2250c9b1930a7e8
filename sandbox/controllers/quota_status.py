"""The ResourceQuota controller: ``status.hard`` mirrors ``spec.hard`` and ``status.used`` is recomputed
from live objects whenever something a quota counts changes (``pkg/controller/resourcequota``).

Usage comes from the same evaluators as admission (``sandbox.admission.quota``), so ``kubectl describe
quota`` and the admission's ``used:`` always agree. Quantities are written in canonical form and the
status is written only when it changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sandbox.admission.quota import QuotaLedger, object_usage, quota_hard, resource_for
from sandbox.apiserver import resources
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, Watch, WatchEvent
from sandbox.hooks import SYSTEM, SandboxContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def desired_status(ledger: QuotaLedger, quota: Obj) -> Obj:
    hard = quota_hard(quota)
    used = ledger.used(quota, hard, pending=False)
    return {
        "hard": {k: str(hard[k]) for k in sorted(hard)},
        "used": {k: str(used[k]) for k in sorted(used)},
    }


class QuotaStatusController:
    """Component keeping every ResourceQuota's status current."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._ledger: QuotaLedger | None = None
        self._watches: list[Watch] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._busy = False

    async def start(self, ctx: SandboxContext) -> None:
        store = self._store = ctx.store
        self._ledger = QuotaLedger(store)
        rv = store.resource_version
        for rt in resources.RESOURCES:
            if rt.namespaced and rt.stored:
                w = store.watch(rt.plural, resource_version=rv)
                self._watches.append(w)
                self._tasks.append(asyncio.create_task(self._follow(w), name=f"quota-status-{rt.plural}"))
        for e in store.entries("resourcequotas"):
            self._mark(e.obj["metadata"]["namespace"])
        self._tasks.append(asyncio.create_task(self._work(), name="quota-status-worker"))

    async def stop(self) -> None:
        for w in self._watches:
            w.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._watches.clear()

    async def wait_synced(self) -> None:
        """Return once every event seen so far is reflected in the quotas' status (for tests and tools)."""
        while self._busy or self._dirty or any(not w.queue.empty() for w in self._watches):
            for t in self._tasks:
                if t.done():
                    raise RuntimeError(f"quota status task {t.get_name()} ended") from t.exception()
            await asyncio.sleep(0.005)

    def _mark(self, namespace: str) -> None:
        self._dirty.add(namespace)
        self._wake.set()

    def _relevant(self, ev: WatchEvent) -> bool:
        assert self._store is not None
        if ev.resource == "resourcequotas":
            # Our own status writes come back as MODIFIED with the same spec.
            return ev.type != "MODIFIED" or ev.old is None or ev.old.get("spec") != ev.obj.get("spec")
        quotas = self._store.entries("resourcequotas", ev.namespace)
        if not any(resource_for(name) == ev.resource for q in quotas for name in quota_hard(q.obj)):
            return False
        if ev.type == "MODIFIED" and ev.old is not None and ev.resource in ("pods", "services"):
            return object_usage(ev.resource, ev.old) != object_usage(ev.resource, ev.obj) or (
                ev.resource == "pods" and ev.old.get("spec") != ev.obj.get("spec")
            )
        return ev.type != "MODIFIED"

    async def _follow(self, w: Watch) -> None:
        async for ev in w:
            try:
                if ev.namespace and self._relevant(ev):
                    self._mark(ev.namespace)
            except Exception:  # one odd object must not stop the controller
                log.exception("quota status: %s %s/%s", ev.resource, ev.namespace, ev.name)
                self._mark(ev.namespace)

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._busy = True
            try:
                while self._dirty:
                    namespace = self._dirty.pop()
                    try:
                        await self._sync(namespace)
                    except Exception:
                        log.exception("quota status of namespace %s", namespace)
                        asyncio.get_running_loop().call_later(1.0, self._mark, namespace)
            finally:
                self._busy = False

    async def _sync(self, namespace: str) -> None:
        assert self._store is not None and self._ledger is not None
        for e in self._store.entries("resourcequotas", namespace):
            quota = e.obj
            want = desired_status(self._ledger, quota)
            if quota.get("status") == want:
                continue
            name = quota["metadata"]["name"]

            def put(current: Obj, want: Obj = want) -> Obj:
                current["status"] = want
                return current

            try:
                await self._store.patch(
                    "resourcequotas", namespace, name, put, subresource="status", user=SYSTEM
                )
            except APIError as exc:
                if exc.code != 404:
                    log.warning("resourcequota %s/%s status: %s", namespace, name, exc.message)
                    asyncio.get_running_loop().call_later(1.0, self._mark, namespace)


__all__ = ["QuotaStatusController", "desired_status"]
