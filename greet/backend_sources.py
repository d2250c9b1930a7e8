"""Where the lookaside balancer learns a Service's ready backends: a static list or the Kubernetes API."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("greet.backend_sources")


@dataclass(frozen=True)
class ServiceKey:
    service: str
    namespace: str


# Called with the complete, current list of "ip:port" backends. May be called from any thread.
Publish = Callable[[Sequence[str]], None]


class BackendSource(Protocol):
    def track(self, key: ServiceKey, publish: Publish) -> None:
        """Start following ``key``; call ``publish`` now (if known) and whenever the set changes."""

    def close(self) -> None:
        """Stop following every key."""


class StaticSource:
    """The same fixed backend list for every Service (tests and ``make demo``)."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = list(addresses)

    def track(self, key: ServiceKey, publish: Publish) -> None:
        publish(self.addresses)

    def close(self) -> None:
        pass


def _endpoint_slice_addresses(slices: Sequence[Any], port_name: str | None) -> list[str]:
    addresses: set[str] = set()
    for item in slices:
        if (item.address_type or "IPv4") not in ("IPv4", "IPv6"):
            continue
        ports = [p for p in item.ports or [] if p.port and (port_name is None or p.name == port_name)]
        if not ports:
            continue
        port = ports[0].port
        for endpoint in item.endpoints or []:
            conditions = endpoint.conditions
            # EndpointSlice semantics: a nil "ready" means ready; terminating endpoints are not ready.
            if conditions is not None and conditions.ready is False:
                continue
            for ip in endpoint.addresses or []:
                addresses.add(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    return sorted(addresses)


def _endpoints_addresses(endpoints: Any, port_name: str | None) -> list[str]:
    addresses: set[str] = set()
    for subset in endpoints.subsets or [] if endpoints is not None else []:
        ports = [p for p in subset.ports or [] if port_name is None or p.name == port_name]
        if not ports:
            continue
        port = ports[0].port
        for address in subset.addresses or []:  # notReadyAddresses are left out on purpose
            ip = address.ip
            addresses.add(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    return sorted(addresses)


class KubernetesSource:
    """Follows a Service's EndpointSlices (discovery.k8s.io/v1), or its core/v1 Endpoints when the
    cluster does not serve EndpointSlices, with the official client in one thread per Service.

    Each thread lists, then watches from the list's resourceVersion; on a dropped watch it resumes
    from the last seen resourceVersion, and on 410 Gone it lists again. RBAC: get/list/watch on
    endpointslices (discovery.k8s.io) and endpoints ("").
    """

    def __init__(
        self,
        *,
        port_name: str | None = None,
        kubeconfig: str | None = None,
        context: str | None = None,
        watch_timeout_s: int = 300,
        retry_delay_s: float = 1.0,
    ) -> None:
        from kubernetes import client, config

        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
        self._api_client = client.ApiClient()
        self._port_name = port_name
        self._watch_timeout_s = watch_timeout_s
        self._retry_delay_s = retry_delay_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def track(self, key: ServiceKey, publish: Publish) -> None:
        thread = threading.Thread(
            target=self._follow,
            args=(key, publish),
            name=f"endpoints-{key.namespace}-{key.service}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._retry_delay_s + 1)
        self._api_client.close()  # type: ignore[no-untyped-call]

    def _follow(self, key: ServiceKey, publish: Publish) -> None:
        from kubernetes.client.exceptions import ApiException

        use_slices = True
        while not self._stop.is_set():
            try:
                if use_slices:
                    self._follow_endpoint_slices(key, publish)
                else:
                    self._follow_endpoints(key, publish)
            except ApiException as error:
                if error.status == 404 and use_slices:
                    log.info("no EndpointSlice API; falling back to Endpoints")
                    use_slices = False
                    continue
                log.warning(
                    "watch failed", extra={"fields": {"status": error.status, "service": key.service}}
                )
            except Exception:
                log.exception("watch failed", extra={"fields": {"service": key.service}})
            self._stop.wait(self._retry_delay_s)

    def _follow_endpoint_slices(self, key: ServiceKey, publish: Publish) -> None:
        from kubernetes import client, watch
        from kubernetes.client.exceptions import ApiException

        api = client.DiscoveryV1Api(self._api_client)
        selector = f"kubernetes.io/service-name={key.service}"
        listed: Any = api.list_namespaced_endpoint_slice(key.namespace, label_selector=selector)
        slices: dict[str, Any] = {item.metadata.name: item for item in listed.items}
        publish(_endpoint_slice_addresses(list(slices.values()), self._port_name))
        resource_version = listed.metadata.resource_version
        while not self._stop.is_set():
            stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for event in stream.stream(
                    api.list_namespaced_endpoint_slice,
                    key.namespace,
                    label_selector=selector,
                    resource_version=resource_version,
                    timeout_seconds=self._watch_timeout_s,
                    allow_watch_bookmarks=True,
                ):
                    if self._stop.is_set():
                        return
                    obj = event["object"]
                    kind = event["type"]
                    if kind == "ERROR":
                        return  # 410 Gone and friends: list again from scratch
                    resource_version = obj.metadata.resource_version
                    if kind == "BOOKMARK":
                        continue
                    if kind == "DELETED":
                        slices.pop(obj.metadata.name, None)
                    else:
                        slices[obj.metadata.name] = obj
                    publish(_endpoint_slice_addresses(list(slices.values()), self._port_name))
            except ApiException as error:
                if error.status == 410:
                    return
                raise
            finally:
                stream.stop()

    def _follow_endpoints(self, key: ServiceKey, publish: Publish) -> None:
        from kubernetes import client, watch
        from kubernetes.client.exceptions import ApiException

        api = client.CoreV1Api(self._api_client)
        field_selector = f"metadata.name={key.service}"
        listed: Any = api.list_namespaced_endpoints(key.namespace, field_selector=field_selector)
        publish(_endpoints_addresses(listed.items[0] if listed.items else None, self._port_name))
        resource_version = listed.metadata.resource_version
        while not self._stop.is_set():
            stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for event in stream.stream(
                    api.list_namespaced_endpoints,
                    key.namespace,
                    field_selector=field_selector,
                    resource_version=resource_version,
                    timeout_seconds=self._watch_timeout_s,
                ):
                    if self._stop.is_set():
                        return
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        return
                    resource_version = obj.metadata.resource_version
                    if event["type"] == "BOOKMARK":
                        continue
                    publish([] if event["type"] == "DELETED" else _endpoints_addresses(obj, self._port_name))
            except ApiException as error:
                if error.status == 410:
                    return
                raise
            finally:
                stream.stop()
