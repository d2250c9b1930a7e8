"""Plain views of Services, their endpoints and Ingresses: what the network layer consumes.

The glue component turns API objects into these; the proxy, DNS and Ingress never see API objects, so each
can be tested (and reasoned about) alone. Names follow the Kubernetes fields they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServicePortView:
    """One entry of a Service's `spec.ports`."""

    name: str
    port: int
    protocol: str = "TCP"
    # targetPort: a number, a container port name, or None (= port), as in the API.
    target_port: int | str | None = None
    node_port: int | None = None


@dataclass(frozen=True)
class EndpointView:
    """One address of the Service's Endpoints/EndpointSlices.

    `ports` maps the Endpoints port name (which is the Service port's name, "" for a single unnamed port)
    to the resolved number on this endpoint — the endpoints controller resolves named targetPorts per pod.
    """

    ip: str
    ready: bool = True
    ports: Mapping[str, int] = field(default_factory=dict)
    hostname: str | None = None
    pod_name: str | None = None


@dataclass(frozen=True)
class ServiceView:
    namespace: str
    name: str
    # None, "" or "None" = headless.
    cluster_ip: str | None
    ports: tuple[ServicePortView, ...] = ()
    endpoints: tuple[EndpointView, ...] = ()
    type: str = "ClusterIP"
    external_name: str | None = None
    # status.loadBalancer.ingress[].ip of a LoadBalancer Service.
    load_balancer_ips: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def headless(self) -> bool:
        return self.cluster_ip in (None, "", "None")

    @property
    def ready_endpoints(self) -> tuple[EndpointView, ...]:
        return tuple(e for e in self.endpoints if e.ready)

    def port_named(self, name: str) -> ServicePortView | None:
        return next((p for p in self.ports if p.name == name), None)

    def port_numbered(self, number: int) -> ServicePortView | None:
        return next((p for p in self.ports if p.port == number), None)


def endpoint_port(endpoint: EndpointView, service_port: ServicePortView) -> int | None:
    """The port on `endpoint` that traffic for `service_port` goes to (None when it cannot be resolved)."""
    if service_port.name in endpoint.ports:
        return endpoint.ports[service_port.name]
    target = service_port.target_port
    if isinstance(target, str):
        if target.isdigit():
            return int(target)
        # A named targetPort the endpoint does not carry: this pod has no such container port.
        return endpoint.ports.get(target)
    if target is None:
        return service_port.port
    return target


@dataclass(frozen=True)
class IngressBackendView:
    """`backend.service` of an Ingress path (or `spec.defaultBackend`): a port by number or by name."""

    service_name: str
    port_number: int | None = None
    port_name: str | None = None


@dataclass(frozen=True)
class IngressPathView:
    path: str
    path_type: str  # Prefix, Exact or ImplementationSpecific
    backend: IngressBackendView


@dataclass(frozen=True)
class IngressRuleView:
    host: str | None
    paths: tuple[IngressPathView, ...] = ()


@dataclass(frozen=True)
class IngressView:
    namespace: str
    name: str
    rules: tuple[IngressRuleView, ...] = ()
    default_backend: IngressBackendView | None = None
    ingress_class_name: str | None = None
