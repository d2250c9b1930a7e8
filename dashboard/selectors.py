"""Reads for the overview, from the watch hub's cache only (no API calls on a page view once it is warm)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dashboard.hub import OVERVIEW_KINDS, get_hub
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
class Overview:
    cluster: str
    namespace: str  # ALL_NAMESPACES for all
    clusters: list[str]
    namespaces: list[str]
    status: ClusterStatus
    deployments: list[DeploymentInfo] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)
    pods: list[PodInfo] = field(default_factory=list)
    problem: str = ""  # why there is nothing to show (no cluster configured…)


def _status(informers: list[Informer]) -> ClusterStatus:
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
    hub = get_hub()
    names = list(hub.clusters)
    if not names:
        return Overview(
            cluster="",
            namespace="",
            clusters=[],
            namespaces=[],
            status=ClusterStatus(False, False, None, None, ""),
            problem="No cluster found: set SWITCHYARD_KUBECONFIG (or KUBECONFIG) to a kubeconfig file.",
        )
    chosen = cluster if cluster in hub.clusters else names[0]
    if namespace is None:
        namespace = hub.clusters[chosen].namespace
    informers = {i.kind.name: i for i in hub.ensure(chosen, OVERVIEW_KINDS)}
    deadline = time.monotonic() + wait
    for informer in informers.values():
        informer.wait_synced(max(0.0, deadline - time.monotonic()))

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
        cluster=chosen,
        namespace=namespace,
        clusters=names,
        namespaces=sorted(namespaces),
        status=_status(list(informers.values())),
        deployments=[DeploymentInfo.from_obj(o) for o in informers["deployments"].items(scope)],
        services=services,
        pods=[PodInfo.from_obj(o) for o in informers["pods"].items(scope)],
    )
