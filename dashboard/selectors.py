"""Reads for the overview and the traffic view: the watch hub's cache (no API calls on a page view once it
is warm) and the probes' windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from dashboard.hub import OVERVIEW_KINDS, get_hub, informers_ready
from dashboard.probe.aggregation import VersionTotal
from dashboard.probe.engine import ProbeStatus
from dashboard.probes import current_registry
from kube.types import DeploymentInfo, EndpointsInfo, NamespaceInfo, PodInfo, ServiceInfo
from kube.watching import Informer

ALL_NAMESPACES = ""  # the picker's "all namespaces" value


@dataclass(frozen=True)
class ServiceRow:
    service: ServiceInfo
    ready_endpoints: int
    not_ready_endpoints: int


@dataclass(frozen=True)
class ClusterStatus:
    connected: bool
    synced: bool
    reconnecting_since: datetime | None
    last_event_age: float | None
    last_error: str

    @property
    def stale(self) -> bool:
        """What is shown may be out of date: say so rather than be silently wrong."""
        return not (self.connected and self.synced)


@dataclass(frozen=True)
class ClusterPage:
    """What every page of one cluster has: the cluster and namespace pickers and the status line."""

    cluster: str
    namespace: str  # ALL_NAMESPACES for all
    clusters: list[str]
    namespaces: list[str]
    status: ClusterStatus
    problem: str = ""  # why there is nothing to show (no cluster configured…)

    @classmethod
    def without_cluster(cls) -> Self:
        """The page when no cluster is configured: empty, and saying how to configure one."""
        return cls(
            cluster="",
            namespace="",
            clusters=[],
            namespaces=[],
            status=ClusterStatus(False, False, None, None, ""),
            problem="No cluster found: set SWITCHYARD_KUBECONFIG (or KUBECONFIG) to a kubeconfig file.",
        )


@dataclass(frozen=True)
class Overview(ClusterPage):
    deployments: list[DeploymentInfo] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)
    pods: list[PodInfo] = field(default_factory=list)


def cluster_status(informers: list[Informer]) -> ClusterStatus:
    """Connected and synced only when every informer the page reads is; else the page says stale."""
    states = [i.state() for i in informers]
    since = [s.reconnecting_since for s in states if s.reconnecting_since is not None]
    ages = [a for a in (s.last_event_age() for s in states) if a is not None]
    return ClusterStatus(
        connected=all(s.connected for s in states),
        synced=all(s.synced for s in states),
        reconnecting_since=datetime.fromtimestamp(min(since), UTC) if since else None,
        last_event_age=min(ages) if ages else None,
        last_error=next((s.last_error for s in states if s.last_error), ""),
    )


def overview_get(*, cluster: str | None, namespace: str | None, wait: float = 3.0) -> Overview:
    """The overview of one cluster and namespace (None: the context's namespace; "": all namespaces).

    On a cold hub this waits up to `wait` seconds for the first lists; after that it only reads the cache.
    """
    view = informers_ready(cluster, OVERVIEW_KINDS, wait=wait)
    if view is None:
        return Overview.without_cluster()
    informers = view.informers
    if namespace is None:
        namespace = view.namespace

    scope = namespace or None
    endpoints = {
        (e.ref.namespace, e.ref.name): e
        for e in map(EndpointsInfo.from_obj, informers["endpoints"].items(scope))
    }
    services = []
    for svc in map(ServiceInfo.from_obj, informers["services"].items(scope)):
        ep = endpoints.get((svc.namespace, svc.name))
        services.append(ServiceRow(svc, len(ep.ready) if ep else 0, len(ep.not_ready) if ep else 0))
    namespaces = [n.name for n in map(NamespaceInfo.from_obj, informers["namespaces"].items())]
    if namespace and namespace not in namespaces:
        namespaces.append(namespace)
    return Overview(
        cluster=view.cluster,
        namespace=namespace,
        clusters=view.clusters,
        namespaces=sorted(namespaces),
        status=cluster_status(list(informers.values())),
        deployments=[DeploymentInfo.from_obj(o) for o in informers["deployments"].items(scope)],
        services=services,
        pods=[PodInfo.from_obj(o) for o in informers["pods"].items(scope)],
    )


# -- traffic -------------------------------------------------------------------------------------------

FRAME_SERIES_S = 60.0  # the time series: the last minute of closed seconds
FRAME_BARS_S = 10.0  # the bars: the last 10 s, the open second included, so a change shows at once
GATEWAY_PORT_WORDS = ("gateway", "http", "web")


@dataclass(frozen=True)
class TargetChoice:
    label: str
    value: str


@dataclass(frozen=True)
class TrafficTargets:
    """What the traffic page offers to probe in one namespace, discovered from the watch cache."""

    cluster: str
    namespace: str
    dns_server: str
    gateways: list[TargetChoice]  # gateway base URLs (ClusterIP:port of Services with an HTTP-ish port)
    grpc_services: list[TargetChoice]  # host:port of Services with a grpc port (DNS names and ClusterIPs)
    headless: list[TargetChoice]  # name:port of headless grpc Services (round_robin resolves them)
    lookasides: list[TargetChoice]  # ClusterIP:port of lookaside Services
    defaults: dict[str, str]


def _is_grpc(port_name: str) -> bool:
    return port_name == "grpc" or port_name.startswith("grpc-")


def traffic_targets_get(*, cluster: str, namespace: str, dns_server: str) -> TrafficTargets:
    """Targets from the Services in ``namespace``: gateways, gRPC Services and lookaside balancers."""
    hub = get_hub()
    gateways: list[TargetChoice] = []
    grpc_services: list[TargetChoice] = []
    headless: list[TargetChoice] = []
    lookasides: list[TargetChoice] = []
    if cluster in hub.clusters and namespace:
        informer = hub.informer(cluster, "services")
        informer.wait_synced(3.0)
        for svc in map(ServiceInfo.from_obj, informer.items(namespace)):
            dns_name = f"{svc.name}.{svc.namespace}.svc.cluster.local"
            for port in svc.ports:
                if port.protocol != "TCP":
                    continue
                if _is_grpc(port.name):
                    if svc.headless:
                        headless.append(TargetChoice(f"{svc.name} (headless)", f"{dns_name}:{port.port}"))
                        continue
                    choice = TargetChoice(f"{svc.name} ClusterIP", f"{svc.cluster_ip}:{port.port}")
                    if "lookaside" in svc.name:
                        lookasides.append(choice)
                    else:
                        grpc_services.append(choice)
                        grpc_services.append(TargetChoice(f"{svc.name} by DNS", f"{dns_name}:{port.port}"))
                elif any(word in port.name for word in GATEWAY_PORT_WORDS) and not svc.headless:
                    gateways.append(TargetChoice(svc.name, f"http://{svc.cluster_ip}:{port.port}"))
    defaults = {
        "kind": "grpc" if headless or grpc_services else "gateway",
        "balancing": "round_robin" if headless else "pick_first",
        "url": gateways[0].value if gateways else "",
        "address": (headless or grpc_services or [TargetChoice("", "")])[0].value,
        "lookaside": lookasides[0].value if lookasides else "",
        "service": _service_of(headless[0].value) if headless else "",
        "namespace": namespace,
        "dns_server": dns_server,
    }
    return TrafficTargets(
        cluster=cluster,
        namespace=namespace,
        dns_server=dns_server,
        gateways=gateways,
        grpc_services=grpc_services,
        headless=headless,
        lookasides=lookasides,
        defaults=defaults,
    )


def _service_of(address: str) -> str:
    # "greetserver-headless.default.svc…:50051" -> "greetserver": the lookaside knows Services by name,
    # and the headless twin shares the pods of the Service without the suffix.
    return address.split(".", 1)[0].removesuffix("-headless")


def probe_status_list() -> list[ProbeStatus]:
    registry = current_registry()
    return sorted(registry.registry.list(), key=lambda s: s.key) if registry is not None else []


def _pods(versions: tuple[VersionTotal, ...]) -> list[dict[str, Any]]:
    return [
        {
            "version": v.version,
            "answers": v.answers,
            "share": v.share,
            "pods": [{"name": p.name, "ip": p.ip, "answers": p.answers, "share": p.share} for p in v.pods],
        }
        for v in versions
    ]


def traffic_frame_get(*, key: str) -> dict[str, Any]:
    """One live frame of a probe, plain data for the page's script (columns shaped for uPlot)."""
    registry = current_registry()
    # A dict lookup, safe from any thread; the window has its own lock.
    probe = registry.registry.get(key) if registry is not None else None
    if probe is None:
        return {"key": key, "exists": False}
    window = probe.window
    series = window.snapshot(FRAME_SERIES_S)
    recent = window.snapshot(FRAME_BARS_S, include_open=True)
    now = window.clock()
    open_buckets = [
        b for b in window.buckets(after=now - window.bucket_s) if b.start <= now < b.start + b.width
    ]
    current = open_buckets[-1].as_dict() if open_buckets else None
    if current is not None:
        current["elapsed"] = round(now - current["start"], 3)
    closed_rps = [r for r in series.requests_per_s if r is not None]
    return {
        "key": key,
        "exists": True,
        "status": probe.status().as_dict(),
        "series": {
            "t": series.starts,
            "rps": series.requests_per_s,
            "err": series.error_rate,
            "p50": series.p50_ms,
            "p99": series.p99_ms,
            "shares": series.shares,
        },
        "bars": _pods(recent.versions),
        "bars_seconds": FRAME_BARS_S,
        "last": {
            "rps": closed_rps[-1] if closed_rps else None,
            "error_rate": series.error_rate[-1],
            "p50_ms": series.p50_ms[-1],
            "p99_ms": series.p99_ms[-1],
        },
        "recent": {
            "answered": recent.answered,
            "failed": recent.failed,
            "error_rate": recent.error_rate_total,
            "p50_ms": recent.p50_ms_total,
            "p99_ms": recent.p99_ms_total,
            "errors_by_code": recent.errors_by_code,
        },
        "open": current,
        "taken_at": now,
    }
