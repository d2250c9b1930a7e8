"""The Endpoints and EndpointSlice controllers (``pkg/controller/endpoint``, ``pkg/controller/endpointslice``).

For every Service with a selector, the pods it selects become addresses: ready pods in ``addresses``,
the others in ``notReadyAddresses`` (Endpoints) and endpoints with ``conditions`` ready/serving/terminating
(discovery.k8s.io/v1 EndpointSlices, terminating pods included). Named ``targetPort``s are resolved per pod
against its containers' ports. Services without a selector are left alone (their Endpoints are the user's).

Pod and Service watch events are handled as they arrive, without batching, so a selector patch moves the
addresses in the same event-loop turns (this is what blue/green switch-over time is made of). Objects are
written only when their content changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, Watch, WatchEvent, now_rfc3339
from sandbox.hooks import SYSTEM, SandboxContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]

HEADLESS_LABEL = "service.kubernetes.io/headless"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


def _dicts(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def selects(selector: dict[str, str], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def pod_ready(pod: Obj) -> bool:
    for cond in _dicts((pod.get("status") or {}).get("conditions")):
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """podutil.FindPort: an int targetPort as is, a name looked up in the pod's container ports."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for c in _dicts((pod.get("spec") or {}).get("containers")):
        for p in _dicts(c.get("ports")):
            if p.get("name") == target and (p.get("protocol") or "TCP") == protocol:
                port = p.get("containerPort")
                return port if isinstance(port, int) else None
    return None


def _target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {
        "kind": "Pod",
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta.get("uid", ""),
    }


def _hostname(pod: Obj, service: Obj) -> str | None:
    spec = pod.get("spec") or {}
    svc_meta = service["metadata"]
    if (
        (service.get("spec") or {}).get("clusterIP") == "None"
        and spec.get("hostname")
        and spec.get("subdomain") == svc_meta["name"]
    ):
        return str(spec["hostname"])
    return None


def _endpoint_ports(pod: Obj, service: Obj) -> list[Obj] | None:
    """The resolved ports of `pod` for `service`, sorted; None if the Service's ports have none here."""
    out = []
    for sp in _dicts((service.get("spec") or {}).get("ports")):
        port = find_port(pod, sp)
        if port is None:
            continue
        ep: Obj = {"port": port, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("name"):
            ep["name"] = sp["name"]
        if sp.get("appProtocol"):
            ep["appProtocol"] = sp["appProtocol"]
        out.append(ep)
    return sorted(out, key=lambda p: (p.get("name", ""), p["port"], p["protocol"]))


def _selected_pods(store: Store, service: Obj) -> list[Obj]:
    selector = (service.get("spec") or {}).get("selector") or {}
    ns = service["metadata"]["namespace"]
    return [
        e.obj
        for e in store.entries("pods", ns)
        if selects(selector, e.obj["metadata"].get("labels")) and (e.obj.get("status") or {}).get("podIP")
    ]


def desired_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """Endpoints subsets: one per distinct port set, addresses sorted by IP (RepackSubsets)."""
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    headless_no_ports = spec.get("clusterIP") == "None" and not spec.get("ports")
    groups: dict[str, tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in pods:
        if _terminal(pod) or (pod["metadata"].get("deletionTimestamp") and not publish):
            continue
        ports = [] if headless_no_ports else _endpoint_ports(pod, service)
        if ports is None or (not ports and not headless_no_ports):
            continue
        addr: Obj = {"ip": pod["status"]["podIP"]}
        host = _hostname(pod, service)
        if host:
            addr["hostname"] = host
        if (pod.get("spec") or {}).get("nodeName"):
            addr["nodeName"] = pod["spec"]["nodeName"]
        addr["targetRef"] = _target_ref(pod)
        key = repr(ports)
        ready, not_ready, _ = groups.setdefault(key, ([], [], ports))
        (ready if publish or pod_ready(pod) else not_ready).append(addr)
    subsets = []
    for key in sorted(groups):
        ready, not_ready, ports = groups[key]
        subset: Obj = {}
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        if ports:
            subset["ports"] = ports
        subsets.append(subset)
    return subsets


def endpoints_labels(service: Obj) -> dict[str, str]:
    labels = dict(service["metadata"].get("labels") or {})
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels


def desired_slices(service: Obj, pods: list[Obj]) -> list[tuple[list[Obj], list[Obj]]]:
    """(ports, endpoints) per distinct port set; a placeholder ([], []) when nothing is selected."""
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
    for pod in pods:
        if _terminal(pod):
            continue
        ports = _endpoint_ports(pod, service)
        if ports is None or (not ports and spec.get("ports")):
            continue
        slice_ports = [
            {"name": p.get("name", ""), "port": p["port"], "protocol": p["protocol"]}
            | ({"appProtocol": p["appProtocol"]} if "appProtocol" in p else {})
            for p in ports
        ]
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        serving = pod_ready(pod)
        ep: Obj = {
            "addresses": [pod["status"]["podIP"]],
            "conditions": {
                "ready": (serving and not terminating) or publish,
                "serving": serving or publish,
                "terminating": terminating,
            },
        }
        host = _hostname(pod, service)
        if host:
            ep["hostname"] = host
        if (pod.get("spec") or {}).get("nodeName"):
            ep["nodeName"] = pod["spec"]["nodeName"]
        ep["targetRef"] = _target_ref(pod)
        groups.setdefault(repr(slice_ports), (slice_ports, []))[1].append(ep)
    if not groups:
        return [([], [])]
    out = []
    for key in sorted(groups):
        ports, eps = groups[key]
        out.append((ports, sorted(eps, key=lambda e: (e["addresses"][0], e["targetRef"]["uid"]))))
    return out


def slice_labels(service: Obj) -> dict[str, str]:
    labels = endpoints_labels(service)
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    return labels


def owner_reference(service: Obj) -> Obj:
    meta = service["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _pod_view(pod: Obj | None) -> tuple[Any, ...] | None:
    """What of a pod matters to endpoints; events that leave it unchanged are ignored."""
    if pod is None:
        return None
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    return (
        meta.get("labels"),
        bool(meta.get("deletionTimestamp")),
        status.get("podIP"),
        status.get("phase") in ("Succeeded", "Failed"),
        pod_ready(pod),
        spec.get("nodeName"),
        spec.get("hostname"),
        spec.get("subdomain"),
        [c.get("ports") for c in _dicts(spec.get("containers"))],
    )


class EndpointsController:
    """Component maintaining Endpoints and EndpointSlices for Services with selectors."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._watches: list[Watch] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._busy = 0

    async def start(self, ctx: SandboxContext) -> None:
        store = self._store = ctx.store
        rv = store.resource_version
        services = store.watch("services", resource_version=rv)
        pods = store.watch("pods", resource_version=rv)
        self._watches = [services, pods]
        for e in store.entries("services"):
            await self.sync(e.obj["metadata"]["namespace"], e.obj["metadata"]["name"])
        self._tasks = [
            asyncio.create_task(self._follow(services, self._on_service), name="endpoints-services"),
            asyncio.create_task(self._follow(pods, self._on_pod), name="endpoints-pods"),
        ]

    async def stop(self) -> None:
        for w in self._watches:
            w.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._watches = []

    async def wait_synced(self) -> None:
        """Return once every event seen so far has been handled (for tests and tools)."""
        while self._busy or any(not w.queue.empty() for w in self._watches):
            for t in self._tasks:
                if t.done():
                    raise RuntimeError(f"endpoints task {t.get_name()} ended")
            await asyncio.sleep(0.002)

    async def _follow(self, w: Watch, handle: Any) -> None:
        async for ev in w:
            self._busy += 1
            try:
                await handle(ev)
            except Exception:  # one odd object must not stop the controller
                log.exception("endpoints: %s %s/%s", ev.resource, ev.namespace, ev.name)
            finally:
                self._busy -= 1

    async def _on_service(self, ev: WatchEvent) -> None:
        if ev.type == "DELETED":
            await self._delete_for(ev.namespace, ev.name)
            return
        if ev.type == "MODIFIED" and ev.old is not None:
            old, new = ev.old, ev.obj
            if old.get("spec") == new.get("spec") and old["metadata"].get("labels") == new["metadata"].get(
                "labels"
            ):
                return  # a status write (LoadBalancer ingress) changes nothing here
        await self.sync(ev.namespace, ev.name)

    async def _on_pod(self, ev: WatchEvent) -> None:
        assert self._store is not None
        new = None if ev.type == "DELETED" else ev.obj
        old = ev.obj if ev.type == "DELETED" else ev.old
        if ev.type == "MODIFIED" and _pod_view(old) == _pod_view(new):
            return
        labels = [p["metadata"].get("labels") for p in (old, new) if p is not None]
        for e in self._store.entries("services", ev.namespace):
            selector = (e.obj.get("spec") or {}).get("selector")
            if selector and any(selects(selector, lab) for lab in labels):
                await self.sync(ev.namespace, e.obj["metadata"]["name"])

    async def sync(self, namespace: str, name: str) -> None:
        lock = self._locks.setdefault((namespace, name), asyncio.Lock())
        async with lock:
            await self._sync(namespace, name)
        if not lock.locked():
            self._locks.pop((namespace, name), None)

    async def _sync(self, namespace: str, name: str) -> None:
        store = self._store
        assert store is not None
        try:
            service = store.entry("services", namespace, name).obj
        except APIError:
            return
        if not (service.get("spec") or {}).get("selector"):
            return  # Endpoints of a Service without selector are the user's
        if service["metadata"].get("deletionTimestamp"):
            return
        pods = _selected_pods(store, service)
        await self._sync_endpoints(store, service, pods)
        await self._sync_slices(store, service, pods)

    async def _sync_endpoints(self, store: Store, service: Obj, pods: list[Obj]) -> None:
        meta = service["metadata"]
        ns, name = meta["namespace"], meta["name"]
        subsets = desired_subsets(service, pods)
        labels = endpoints_labels(service)
        try:
            current: Obj | None = store.entry("endpoints", ns, name).obj
        except APIError:
            current = None
        if current is not None:
            if (current.get("subsets") or []) == subsets and (
                current["metadata"].get("labels") or {}
            ) == labels:
                return

            def put(obj: Obj) -> Obj:
                obj["metadata"]["labels"] = labels
                obj["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = now_rfc3339()
                if subsets:
                    obj["subsets"] = subsets
                else:
                    obj.pop("subsets", None)
                return obj

            await self._write(store.patch("endpoints", ns, name, put, user=SYSTEM), "endpoints", ns, name)
            return
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "annotations": {TRIGGER_TIME: now_rfc3339()},
            },
        }
        if subsets:
            body["subsets"] = subsets
        await self._write(store.create("endpoints", body, namespace=ns, user=SYSTEM), "endpoints", ns, name)

    async def _sync_slices(self, store: Store, service: Obj, pods: list[Obj]) -> None:
        meta = service["metadata"]
        ns, name = meta["namespace"], meta["name"]
        wanted = desired_slices(service, pods)
        labels = slice_labels(service)
        owner = owner_reference(service)
        existing = [
            e.obj
            for e in store.entries("endpointslices", ns)
            if (e.obj["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name
            and (e.obj["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
        ]
        by_ports = {repr(s.get("ports") or []): s for s in existing}
        unused = {s["metadata"]["name"] for s in existing}
        for ports, eps in wanted:
            current = by_ports.pop(repr(ports), None)
            if current is None:
                # Reuse any slice left over (another port set) before creating one.
                spare = next((s for s in existing if s["metadata"]["name"] in unused), None)
                current = spare
            if current is not None:
                unused.discard(current["metadata"]["name"])
                if (
                    (current.get("ports") or []) == ports
                    and (current.get("endpoints") or []) == eps
                    and current["metadata"].get("labels") == labels
                    and current["metadata"].get("ownerReferences") == [owner]
                ):
                    continue

                def put(obj: Obj, ports: list[Obj] = ports, eps: list[Obj] = eps) -> Obj:
                    obj["metadata"]["labels"] = labels
                    obj["metadata"]["ownerReferences"] = [owner]
                    obj["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = now_rfc3339()
                    obj["addressType"] = "IPv4"
                    obj["ports"] = ports or None
                    obj["endpoints"] = eps or None
                    return obj

                slice_name = current["metadata"]["name"]
                await self._write(
                    store.patch("endpointslices", ns, slice_name, put, user=SYSTEM),
                    "endpointslices",
                    ns,
                    slice_name,
                )
                continue
            body: Obj = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "generateName": f"{name}-",
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {TRIGGER_TIME: now_rfc3339()},
                    "ownerReferences": [owner],
                },
                "addressType": "IPv4",
                "endpoints": eps or None,
                "ports": ports or None,
            }
            await self._write(
                store.create("endpointslices", body, namespace=ns, user=SYSTEM), "endpointslices", ns, name
            )
        for slice_name in sorted(unused):
            await self._write(
                store.delete("endpointslices", ns, slice_name, user=SYSTEM), "endpointslices", ns, slice_name
            )

    async def _delete_for(self, namespace: str, name: str) -> None:
        store = self._store
        assert store is not None
        async with self._locks.setdefault((namespace, name), asyncio.Lock()):
            try:
                ep = store.entry("endpoints", namespace, name).obj
            except APIError:
                ep = None
            # Only what this controller made: user Endpoints of selector-less Services carry no trigger time.
            if ep is not None and TRIGGER_TIME in (ep["metadata"].get("annotations") or {}):
                await self._write(
                    store.delete("endpoints", namespace, name, user=SYSTEM), "endpoints", namespace, name
                )
            for e in store.entries("endpointslices", namespace):
                labels = e.obj["metadata"].get("labels") or {}
                if labels.get(SERVICE_NAME_LABEL) == name and labels.get(MANAGED_BY_LABEL) == MANAGED_BY:
                    slice_name = e.obj["metadata"]["name"]
                    await self._write(
                        store.delete("endpointslices", namespace, slice_name, user=SYSTEM),
                        "endpointslices",
                        namespace,
                        slice_name,
                    )
        self._locks.pop((namespace, name), None)

    @staticmethod
    async def _write(call: Any, resource: str, namespace: str, name: str) -> None:
        try:
            await call
        except APIError as exc:
            if exc.code not in (404, 409):
                log.warning("%s %s/%s: %s", resource, namespace, name, exc.message)


__all__ = [
    "EndpointsController",
    "desired_slices",
    "desired_subsets",
    "endpoints_labels",
    "find_port",
    "owner_reference",
    "pod_ready",
    "slice_labels",
]
