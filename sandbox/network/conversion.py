"""API objects (plain dicts as the store keeps them) → the network layer's views."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.network.model import (
    EndpointView,
    IngressBackendView,
    IngressPathView,
    IngressRuleView,
    IngressView,
    ServicePortView,
    ServiceView,
)

Obj = Mapping[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _target_port(value: Any) -> int | str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text) if text.isdigit() else text


class _Merged:
    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.ready = False
        self.ports: dict[str, int] = {}
        self.hostname: str | None = None
        self.pod_name: str | None = None

    def take(self, address: Obj, ready: bool, ports: Iterable[Obj]) -> None:
        self.ready = self.ready or ready
        for p in ports:
            if p.get("port") is not None:
                self.ports[str(p.get("name") or "")] = int(p["port"])
        self.hostname = self.hostname or address.get("hostname")
        ref = address.get("targetRef") or {}
        if ref.get("kind", "Pod") == "Pod":
            self.pod_name = self.pod_name or ref.get("name")

    def view(self) -> EndpointView:
        return EndpointView(self.ip, self.ready, dict(self.ports), self.hostname, self.pod_name)


def endpoints_from_endpoints(obj: Obj) -> tuple[EndpointView, ...]:
    """core/v1 Endpoints: each subset's ports apply to its addresses; an IP in several subsets merges."""
    merged: dict[str, _Merged] = {}
    for subset in obj.get("subsets") or []:
        ports = subset.get("ports") or []
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(field) or []:
                ip = address.get("ip")
                if ip:
                    merged.setdefault(ip, _Merged(ip)).take(address, ready, ports)
    return tuple(m.view() for m in merged.values())


def endpoints_from_slices(slices: Iterable[Obj]) -> tuple[EndpointView, ...]:
    """discovery.k8s.io/v1 EndpointSlices of one Service; `conditions.ready` unset means ready."""
    merged: dict[str, _Merged] = {}
    for sl in slices:
        if sl.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
            continue
        ports = sl.get("ports") or []
        for ep in sl.get("endpoints") or []:
            ready = (ep.get("conditions") or {}).get("ready")
            for ip in ep.get("addresses") or []:
                merged.setdefault(ip, _Merged(ip)).take(ep, ready is None or bool(ready), ports)
    return tuple(m.view() for m in merged.values())


def service_view(service: Obj, endpoints: tuple[EndpointView, ...]) -> ServiceView:
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    lb = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ports = tuple(
        ServicePortView(
            name=str(p.get("name") or ""),
            port=int(p["port"]),
            protocol=str(p.get("protocol") or "TCP"),
            target_port=_target_port(p.get("targetPort")),
            node_port=int(p["nodePort"]) if p.get("nodePort") else None,
        )
        for p in spec.get("ports") or []
        if p.get("port") is not None
    )
    return ServiceView(
        namespace=str(meta.get("namespace") or "default"),
        name=str(meta.get("name")),
        cluster_ip=spec.get("clusterIP"),
        ports=ports,
        endpoints=endpoints,
        type=str(spec.get("type") or "ClusterIP"),
        external_name=spec.get("externalName"),
        load_balancer_ips=tuple(str(i["ip"]) for i in lb if i.get("ip")),
    )


def service_views(
    services: Iterable[Obj], endpoints: Iterable[Obj], slices: Iterable[Obj]
) -> list[ServiceView]:
    """Views of every Service, fed by its Endpoints object or, when it has none, its EndpointSlices."""
    by_endpoints = {
        ((e.get("metadata") or {}).get("namespace"), (e.get("metadata") or {}).get("name")): e
        for e in endpoints
    }
    by_slices: dict[tuple[Any, Any], list[Obj]] = {}
    for sl in slices:
        meta = sl.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_slices.setdefault((meta.get("namespace"), owner), []).append(sl)
    views = []
    for svc in services:
        meta = svc.get("metadata") or {}
        key = (meta.get("namespace"), meta.get("name"))
        if key in by_endpoints:
            eps = endpoints_from_endpoints(by_endpoints[key])
        else:
            eps = endpoints_from_slices(by_slices.get(key, []))
        views.append(service_view(svc, eps))
    return views


def _backend(obj: Obj | None) -> IngressBackendView | None:
    service = (obj or {}).get("service")
    if not service or not service.get("name"):
        return None  # `resource` backends are not supported
    port = service.get("port") or {}
    number = port.get("number")
    return IngressBackendView(str(service["name"]), int(number) if number else None, port.get("name") or None)


def ingress_view(obj: Obj) -> IngressView:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    rules = []
    for rule in spec.get("rules") or []:
        paths = []
        for p in (rule.get("http") or {}).get("paths") or []:
            backend = _backend(p.get("backend"))
            if backend is not None:
                paths.append(IngressPathView(p.get("path") or "/", p.get("pathType") or "Prefix", backend))
        rules.append(IngressRuleView(rule.get("host") or None, tuple(paths)))
    return IngressView(
        namespace=str(meta.get("namespace") or "default"),
        name=str(meta.get("name")),
        rules=tuple(rules),
        default_backend=_backend(spec.get("defaultBackend")),
        ingress_class_name=spec.get("ingressClassName"),
    )
