"""Namespace lifecycle: bootstrap namespaces, per-namespace defaults, and deletion of a namespace's content.

- ``default``, ``kube-system``, ``kube-public`` and ``kube-node-lease`` exist once the controller started.
- Every active namespace gets ServiceAccount ``default`` (the serviceaccounts controller) and ConfigMap
  ``kube-root-ca.crt`` with ``ca.crt`` = the sandbox CA (the root-ca-cert-publisher); deleted ones come back.
- A deleted namespace stays ``Terminating`` (the store holds it for the ``kubernetes`` finalizer, announced in
  ``store.handled_finalizers``) while this controller deletes everything in it; once nothing is left it
  writes the deletion conditions and the namespace goes. The store itself refuses creates in a
  terminating namespace (403 ``unable to create new content in namespace …``).

``cluster_controllers(ctx)`` lists this controller with the Endpoints and ResourceQuota ones.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sandbox.apiserver import resources
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import BOOTSTRAP_NAMESPACES, Store, Watch, WatchEvent, now_rfc3339
from sandbox.hooks import SYSTEM, Component, SandboxContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]

FINALIZER = "kubernetes"
ROOT_CA = "kube-root-ca.crt"
SERVICE_ACCOUNT = "default"
# Polling while content (e.g. pods the kubelet is still stopping) goes away.
_RECHECK_S = 0.05


def deletion_conditions() -> list[Obj]:
    """The conditions Kubernetes' namespace controller leaves on a namespace whose content is gone."""
    now = now_rfc3339()
    rows = (
        ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
        (
            "NamespaceDeletionGroupVersionParsingFailure",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        (
            "NamespaceDeletionContentFailure",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
        (
            "NamespaceFinalizersRemaining",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        ),
    )
    return [
        {"type": t, "status": "False", "lastTransitionTime": now, "reason": r, "message": m}
        for t, r, m in rows
    ]


class NamespaceController:
    """Component for namespace defaults and namespace deletion."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._ca_pem = ""
        self._watches: list[Watch] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._finalizing: dict[str, asyncio.Task[None]] = {}
        self._busy = 0

    async def start(self, ctx: SandboxContext) -> None:
        store = self._store = ctx.store
        store.handled_finalizers.add(FINALIZER)
        if ctx.ca_file is not None and ctx.ca_file.exists():
            self._ca_pem = ctx.ca_file.read_text()
        for name in BOOTSTRAP_NAMESPACES:
            try:
                store.entry("namespaces", None, name)
            except APIError:
                await self._ignore_conflicts(
                    store.create("namespaces", {"metadata": {"name": name}}, user=SYSTEM), "namespace", name
                )
        rv = store.resource_version
        namespaces = store.watch("namespaces")  # replays every namespace as ADDED first
        accounts = store.watch("serviceaccounts", resource_version=rv)
        configmaps = store.watch("configmaps", resource_version=rv)
        self._watches = [namespaces, accounts, configmaps]
        self._tasks = [
            asyncio.create_task(self._follow(namespaces, self._on_namespace), name="namespace-controller"),
            asyncio.create_task(
                self._follow(accounts, self._on_default_object), name="namespace-serviceaccounts"
            ),
            asyncio.create_task(
                self._follow(configmaps, self._on_default_object), name="namespace-configmaps"
            ),
        ]

    async def stop(self) -> None:
        if self._store is not None:
            self._store.handled_finalizers.discard(FINALIZER)
        for w in self._watches:
            w.close()
        tasks = self._tasks + list(self._finalizing.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks, self._watches, self._finalizing = [], [], {}

    async def wait_synced(self) -> None:
        """Return once every event seen so far is handled and no namespace is being finalized."""
        while self._busy or self._finalizing or any(not w.queue.empty() for w in self._watches):
            for t in self._tasks:
                if t.done():
                    raise RuntimeError(f"namespace task {t.get_name()} ended")
            await asyncio.sleep(0.005)

    async def _follow(self, w: Watch, handle: Any) -> None:
        async for ev in w:
            self._busy += 1
            try:
                await handle(ev)
            except Exception:  # one odd object must not stop the controller
                log.exception("namespace controller: %s %s/%s", ev.resource, ev.namespace, ev.name)
            finally:
                self._busy -= 1

    async def _on_namespace(self, ev: WatchEvent) -> None:
        if ev.type == "DELETED":
            return
        if ev.obj["metadata"].get("deletionTimestamp"):
            if ev.name not in self._finalizing:
                self._finalizing[ev.name] = asyncio.create_task(
                    self._finalize(ev.name), name=f"finalize-{ev.name}"
                )
            return
        await self.ensure_defaults(ev.name)

    async def _on_default_object(self, ev: WatchEvent) -> None:
        wanted = ROOT_CA if ev.resource == "configmaps" else SERVICE_ACCOUNT
        if ev.name == wanted and (ev.type == "DELETED" or ev.resource == "configmaps"):
            await self.ensure_defaults(ev.namespace)

    def _active(self, namespace: str) -> bool:
        assert self._store is not None
        try:
            ns = self._store.entry("namespaces", None, namespace).obj
        except APIError:
            return False
        return not ns["metadata"].get("deletionTimestamp")

    async def ensure_defaults(self, namespace: str) -> None:
        """ServiceAccount ``default`` and ConfigMap ``kube-root-ca.crt`` in an active namespace."""
        store = self._store
        assert store is not None
        if not self._active(namespace):
            return
        try:
            store.entry("serviceaccounts", namespace, SERVICE_ACCOUNT)
        except APIError:
            body: Obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SERVICE_ACCOUNT}}
            await self._ignore_conflicts(
                store.create("serviceaccounts", body, namespace=namespace, user=SYSTEM),
                "serviceaccount",
                namespace,
            )
        data = {"ca.crt": self._ca_pem}
        try:
            current = store.entry("configmaps", namespace, ROOT_CA).obj
        except APIError:
            cm: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": ROOT_CA}, "data": data}
            await self._ignore_conflicts(
                store.create("configmaps", cm, namespace=namespace, user=SYSTEM), "configmap", namespace
            )
            return
        if current.get("data") != data:

            def put(obj: Obj) -> Obj:
                obj["data"] = data
                return obj

            await self._ignore_conflicts(
                store.patch("configmaps", namespace, ROOT_CA, put, user=SYSTEM), "configmap", namespace
            )

    async def _finalize(self, namespace: str) -> None:
        store = self._store
        assert store is not None
        try:
            attempted: set[tuple[str, str, str]] = set()
            while await self._delete_content(namespace, attempted):
                await asyncio.sleep(_RECHECK_S)
            try:
                ns = store.entry("namespaces", None, namespace).obj
            except APIError:
                return

            def done(obj: Obj) -> Obj:
                obj.setdefault("status", {})["conditions"] = deletion_conditions()
                return obj

            # Content gone: with no metadata.finalizers left, this write lets the store remove the namespace
            # (its spec.finalizers, `kubernetes`, is ours to drop).
            if ns["metadata"].get("deletionTimestamp"):
                await self._ignore_conflicts(
                    store.patch("namespaces", None, namespace, done, subresource="status", user=SYSTEM),
                    "namespace",
                    namespace,
                )
        finally:
            self._finalizing.pop(namespace, None)

    async def _delete_content(self, namespace: str, attempted: set[tuple[str, str, str]]) -> bool:
        """Delete what is left in `namespace` (each object once); True while anything remains."""
        store = self._store
        assert store is not None
        remaining = False
        for rt in resources.RESOURCES:
            if not (rt.namespaced and rt.stored):
                continue
            for e in store.entries(rt.plural, namespace):
                remaining = True
                meta = e.obj["metadata"]
                key = (rt.plural, meta["name"], meta.get("uid", ""))
                if meta.get("deletionTimestamp") or key in attempted:
                    continue
                attempted.add(key)
                await self._ignore_conflicts(
                    store.delete(rt.plural, namespace, meta["name"], user=SYSTEM),
                    rt.plural,
                    f"{namespace}/{meta['name']}",
                )
        return remaining

    @staticmethod
    async def _ignore_conflicts(call: Any, what: str, where: str) -> None:
        try:
            await call
        except APIError as exc:
            if exc.code not in (404, 409) and not (exc.code == 403 and "being terminated" in exc.message):
                log.warning("%s %s: %s", what, where, exc.message)


def cluster_controllers(ctx: SandboxContext) -> list[Component]:
    """Namespace lifecycle, Endpoints/EndpointSlices and ResourceQuota status, in start order."""
    from sandbox.controllers.endpoints import EndpointsController
    from sandbox.controllers.quota_status import QuotaStatusController

    return [NamespaceController(), EndpointsController(), QuotaStatusController()]


__all__ = ["NamespaceController", "cluster_controllers", "deletion_conditions"]
