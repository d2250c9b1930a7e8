"""The network as a sandbox component: watches Services, Endpoints, EndpointSlices and Ingresses in the
store and keeps the ClusterIP proxy, the cluster DNS and the Ingress controller in step.

It also plays the cloud provider and the ingress controller for status: LoadBalancer Services and Ingresses
get `status.loadBalancer.ingress: [{ip: <node IP>}]`.

`up` wires it with `network_components(ctx)` (see sandbox.hooks); it should start before the kubelet,
which reads `ctx.config.extra["dns_address"]` to give pods their DNS server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, Watch
from sandbox.hooks import SYSTEM, Component, SandboxContext
from sandbox.network.conversion import ingress_view, service_views
from sandbox.network.dns import ClusterDNS
from sandbox.network.ingress import IngressRouter
from sandbox.network.proxy import ServiceProxy

log = logging.getLogger(__name__)

WATCHED = ("services", "endpoints", "endpointslices", "ingresses")
Key = tuple[str, str]


def _key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


class NetworkComponent:
    def __init__(
        self,
        *,
        node_ip: str = "127.0.0.1",
        dns_port: int = 0,
        ingress_port: int = 0,
        domain: str = "cluster.local",
    ) -> None:
        self.node_ip = node_ip
        self.proxy = ServiceProxy(node_ip)
        self.dns = ClusterDNS(node_ip, dns_port, domain)
        self.ingress = IngressRouter(node_ip, ingress_port)
        self._store: Store | None = None
        self._cache: dict[str, dict[Key, dict[str, Any]]] = {r: {} for r in WATCHED}
        self._watches: dict[str, Watch] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty = asyncio.Event()
        self._stopping = False
        self.syncs = 0  # reconciliations done, for status and tests

    @property
    def store(self) -> Store:
        assert self._store is not None, "start() first"
        return self._store

    async def start(self, ctx: SandboxContext) -> None:
        self._store = ctx.store
        self.dns.start()
        await self.ingress.start()
        ctx.config.extra["dns_address"] = self.dns.address
        ctx.config.extra["ingress_port"] = self.ingress.port
        ctx.announcements.append(f"dns: {self.dns.address} (udp+tcp, {self.dns.domain})")
        ctx.announcements.append(f"ingress: http://{self.node_ip}:{self.ingress.port}")
        for resource in WATCHED:
            self._relist(resource)
        await self.reconcile()  # Services answer before `up` reports ready
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._follow(r), name=f"network-watch-{r}") for r in WATCHED]
        self._tasks.append(loop.create_task(self._reconcile_loop(), name="network-reconcile"))

    def _relist(self, resource: str) -> None:
        # No await between listing and subscribing: the watch resumes exactly after the listed version.
        rv = self.store.resource_version
        self._cache[resource] = {_key(e.obj): e.obj for e in self.store.entries(resource)}
        self._watches[resource] = self.store.watch(resource, resource_version=str(rv))

    async def _follow(self, resource: str) -> None:
        while not self._stopping:
            cache = self._cache[resource]
            async for ev in self._watches[resource]:
                if ev.type == "DELETED":
                    cache.pop((ev.namespace, ev.name), None)
                else:
                    cache[(ev.namespace, ev.name)] = ev.obj
                self._dirty.set()
            if self._stopping:
                return
            # The watch was cut (a consumer too far behind): list again, like an informer.
            log.info("network: %s watch closed, relisting", resource)
            await asyncio.sleep(0.2)
            try:
                self._relist(resource)
            except APIError as exc:
                log.warning("network: relisting %s failed: %s", resource, exc)
            self._dirty.set()

    async def _reconcile_loop(self) -> None:
        while not self._stopping:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.reconcile()
            except Exception:
                log.exception("network: reconcile failed")

    async def reconcile(self) -> None:
        """Push the cached objects into the proxy, DNS and Ingress; write load balancer statuses."""
        services = list(self._cache["services"].values())
        views = service_views(
            services, self._cache["endpoints"].values(), self._cache["endpointslices"].values()
        )
        await self.proxy.sync(views)
        self.dns.update(views)
        self.ingress.update([ingress_view(i) for i in self._cache["ingresses"].values()], views)
        self.syncs += 1
        for svc in services:
            is_lb = (svc.get("spec") or {}).get("type") == "LoadBalancer"
            await self._write_status("services", svc, self._lb_status(is_lb))
        for ing in self._cache["ingresses"].values():
            await self._write_status("ingresses", ing, self._lb_status(True))

    def _lb_status(self, wanted: bool) -> dict[str, Any]:
        if not wanted:
            return {}
        return {"ingress": [{"ip": self.node_ip, "ipMode": "VIP"}]}

    async def _write_status(self, resource: str, obj: dict[str, Any], load_balancer: dict[str, Any]) -> None:
        current = (obj.get("status") or {}).get("loadBalancer") or {}
        if current == load_balancer:
            return
        namespace, name = _key(obj)

        def mutate(o: dict[str, Any]) -> dict[str, Any]:
            o.setdefault("status", {})["loadBalancer"] = load_balancer
            return o

        try:
            await self.store.patch(resource, namespace, name, mutate, subresource="status", user=SYSTEM)
        except APIError as exc:  # deleted or changed meanwhile: the next event brings it back here
            log.debug("network: status of %s %s/%s not written: %s", resource, namespace, name, exc)

    async def stop(self) -> None:
        self._stopping = True
        for w in self._watches.values():
            w.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.ingress.stop()
        await self.proxy.close()
        self.dns.stop()


def network_components(ctx: SandboxContext) -> list[Component]:
    """The network's components for `up`, configured from `ctx.config` (dns_port, ingress_port)."""
    config = ctx.config
    return [NetworkComponent(dns_port=config.dns_port, ingress_port=config.ingress_port)]
