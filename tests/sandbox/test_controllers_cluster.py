"""Endpoints/EndpointSlices and namespace lifecycle, in-process against a real Store.

Pods are created with ``store.create`` and marked Running/Ready through the status subresource, as the
kubelet does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, Watch
from sandbox.controllers.endpoints import EndpointsController
from sandbox.controllers.namespace import NamespaceController, cluster_controllers
from sandbox.hooks import SandboxConfig, SandboxContext

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class Cluster:
    def __init__(self, store: Store, endpoints: EndpointsController, namespaces: NamespaceController) -> None:
        self.store = store
        self.endpoints = endpoints
        self.namespaces = namespaces

    async def synced(self) -> None:
        await self.namespaces.wait_synced()
        await self.endpoints.wait_synced()

    async def pod(
        self, name: str, ip: str, labels: dict[str, str], *, ready: bool = True, ns: str = "default"
    ) -> dict[str, Any]:
        created = await self.store.create(
            "pods",
            {
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {
                    "nodeName": "sandbox",
                    "containers": [
                        {"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}
                    ],
                },
            },
        )
        return await self.set_ready(created, ip, ready)

    async def set_ready(self, pod: dict[str, Any], ip: str, ready: bool) -> dict[str, Any]:
        pod = await self.store.get("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        pod["status"] = {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        }
        return await self.store.update("pods", pod, subresource="status")

    async def service(self, name: str, selector: dict[str, str] | None, **spec: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"ports": [{"name": "web", "port": 80, "targetPort": "http"}], **spec},
        }
        if selector is not None:
            body["spec"]["selector"] = selector
        return await self.store.create("services", body)

    def slices(self, service: str, ns: str = "default") -> list[dict[str, Any]]:
        return [
            e.obj
            for e in self.store.entries("endpointslices", ns)
            if e.obj["metadata"]["labels"].get("kubernetes.io/service-name") == service
        ]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    store = Store.open(tmp_path, service_cidr="127.2.251.0/24")
    ca = tmp_path / "ca.crt"
    ca.write_text(CA_PEM)
    ctx = SandboxContext(config=SandboxConfig(state_dir=tmp_path), store=store, ca_file=ca)
    components = cluster_controllers(ctx)
    for c in components:
        await c.start(ctx)
    namespaces, endpoints = components[0], components[1]
    assert isinstance(namespaces, NamespaceController) and isinstance(endpoints, EndpointsController)
    try:
        yield Cluster(store, endpoints, namespaces)
    finally:
        for c in reversed(components):
            await c.stop()
        store.close()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(200):  # ≤ 2 s
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def drain(w: Watch) -> list[Any]:
    out = []
    while not w.queue.empty():
        ev = w.queue.get_nowait()
        if ev is not None:
            out.append(ev)
    return out


def addresses(ep: dict[str, Any], key: str = "addresses") -> list[str]:
    return [a["ip"] for s in ep.get("subsets") or [] for a in s.get(key) or []]


async def test_endpoints_follow_readiness_and_a_selector_switch(cluster: Cluster) -> None:
    store = cluster.store
    svc = await cluster.service("web", {"app": "blue"})
    blue = [await cluster.pod(f"blue-{i}", f"127.1.0.{10 + i}", {"app": "blue"}) for i in range(2)]
    green = [await cluster.pod(f"green-{i}", f"127.1.0.{20 + i}", {"app": "green"}) for i in range(2)]
    await cluster.synced()

    ep = await store.get("endpoints", "default", "web")
    assert ep["metadata"]["labels"] == {"app": "web"}
    [subset] = ep["subsets"]
    assert subset["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert subset["addresses"][0] == {
        "ip": "127.1.0.10",
        "nodeName": "sandbox",
        "targetRef": {
            "kind": "Pod",
            "namespace": "default",
            "name": "blue-0",
            "uid": blue[0]["metadata"]["uid"],
        },
    }
    assert addresses(ep) == ["127.1.0.10", "127.1.0.11"]

    [sl] = cluster.slices("web")
    assert sl["metadata"]["name"].startswith("web-") and len(sl["metadata"]["name"]) == len("web-") + 5
    assert sl["metadata"]["labels"] == {
        "app": "web",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    assert sl["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "web",
            "uid": svc["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert sl["addressType"] == "IPv4"
    assert sl["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert [e["addresses"] for e in sl["endpoints"]] == [["127.1.0.10"], ["127.1.0.11"]]
    assert sl["endpoints"][0]["conditions"] == {"ready": True, "serving": True, "terminating": False}

    # A pod turning unready moves to notReadyAddresses / ready=false.
    await cluster.set_ready(blue[1], "127.1.0.11", ready=False)
    await cluster.synced()
    ep = await store.get("endpoints", "default", "web")
    assert addresses(ep) == ["127.1.0.10"]
    assert addresses(ep, "notReadyAddresses") == ["127.1.0.11"]
    [sl] = cluster.slices("web")
    assert [e["conditions"]["ready"] for e in sl["endpoints"]] == [True, False]

    # Blue → green: one patch of the selector, one write of each object.
    ep_watch = store.watch("endpoints", "default", resource_version=store.resource_version)
    slice_watch = store.watch("endpointslices", "default", resource_version=store.resource_version)

    def to_green(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["selector"] = {"app": "green"}
        return obj

    await store.patch("services", "default", "web", to_green)
    await cluster.synced()
    [ev] = drain(ep_watch)
    assert ev.type == "MODIFIED"
    assert addresses(ev.obj) == ["127.1.0.20", "127.1.0.21"]
    assert not addresses(ev.obj, "notReadyAddresses")
    [sev] = drain(slice_watch)
    assert [e["targetRef"]["name"] for e in sev.obj["endpoints"]] == [p["metadata"]["name"] for p in green]

    # An event that changes nothing for endpoints writes nothing.
    pod = await store.get("pods", "default", "green-0")
    pod["metadata"].setdefault("annotations", {})["note"] = "x"
    await store.update("pods", pod)
    await cluster.synced()
    assert drain(ep_watch) == [] and drain(slice_watch) == []

    # Deleting a pod drops it; deleting the Service removes what the controller made.
    await store.delete("pods", "default", "green-1")
    await cluster.synced()
    assert addresses(await store.get("endpoints", "default", "web")) == ["127.1.0.20"]
    await store.delete("services", "default", "web")
    await cluster.synced()
    with pytest.raises(APIError):
        await store.get("endpoints", "default", "web")
    assert cluster.slices("web") == []
    ep_watch.close()
    slice_watch.close()


async def test_headless_and_selectorless_services(cluster: Cluster) -> None:
    store = cluster.store
    await cluster.service("greet-headless", {"run": "greet"}, clusterIP="None")
    await cluster.pod("g-0", "127.1.0.30", {"run": "greet"})
    await cluster.pod("g-1", "127.1.0.31", {"run": "greet"}, ready=False)
    await cluster.synced()
    ep = await store.get("endpoints", "default", "greet-headless")
    assert ep["metadata"]["labels"] == {"app": "greet-headless", "service.kubernetes.io/headless": ""}
    assert addresses(ep) == ["127.1.0.30"]
    assert addresses(ep, "notReadyAddresses") == ["127.1.0.31"]
    [sl] = cluster.slices("greet-headless")
    assert sl["metadata"]["labels"]["service.kubernetes.io/headless"] == ""

    # No selector: the user's Endpoints stay exactly as written.
    await cluster.service("external", None)
    mine = {
        "metadata": {"name": "external", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 443}]}],
    }
    written = await store.create("endpoints", mine)
    await cluster.pod("g-2", "127.1.0.32", {"run": "greet"})
    await cluster.synced()
    assert await store.get("endpoints", "default", "external") == written
    assert cluster.slices("external") == []


async def test_unresolvable_named_port_and_empty_service(cluster: Cluster) -> None:
    store = cluster.store
    await store.create(
        "services",
        {
            "metadata": {"name": "grpc", "namespace": "default"},
            "spec": {
                "selector": {"app": "x"},
                "ports": [{"name": "grpc", "port": 50051, "targetPort": "grpc"}],
            },
        },
    )
    await cluster.synced()
    ep = await store.get("endpoints", "default", "grpc")
    assert "subsets" not in ep
    [placeholder] = cluster.slices("grpc")
    assert placeholder["endpoints"] is None and placeholder["ports"] is None
    # The pod has no port named grpc: it gets no address.
    await cluster.pod("x-0", "127.1.0.40", {"app": "x"})
    await cluster.synced()
    assert "subsets" not in await store.get("endpoints", "default", "grpc")


async def test_namespace_defaults_and_cascading_delete(cluster: Cluster) -> None:
    store = cluster.store
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        await store.get("namespaces", None, name)
    await store.create("namespaces", {"metadata": {"name": "team"}})
    await cluster.synced()
    await store.get("serviceaccounts", "team", "default")
    cm = await store.get("configmaps", "team", "kube-root-ca.crt")
    assert cm["data"] == {"ca.crt": CA_PEM}
    await store.get("serviceaccounts", "kube-system", "default")

    # Deleted defaults come back.
    await store.delete("configmaps", "team", "kube-root-ca.crt")
    await cluster.synced()
    await store.get("configmaps", "team", "kube-root-ca.crt")

    await cluster.pod("p", "127.1.0.50", {"a": "b"}, ns="team")
    await store.create(
        "secrets",
        {"metadata": {"name": "held", "namespace": "team", "finalizers": ["example.com/hold"]}},
    )
    await store.delete("namespaces", None, "team")
    await until(lambda: not store.entries("pods", "team") and len(store.entries("secrets", "team")) == 1)
    # The secret's finalizer holds the namespace in Terminating; creates are refused meanwhile.
    ns = await store.get("namespaces", None, "team")
    assert ns["status"]["phase"] == "Terminating"
    assert [e.obj["metadata"]["name"] for e in store.entries("pods", "team")] == []
    with pytest.raises(APIError) as info:
        await store.create("configmaps", {"metadata": {"name": "late", "namespace": "team"}})
    assert info.value.code == 403
    assert info.value.message.endswith(
        "unable to create new content in namespace team because it is being terminated"
    )

    held = await store.get("secrets", "team", "held")
    held["metadata"]["finalizers"] = []
    await store.update("secrets", held)
    await cluster.synced()
    with pytest.raises(APIError) as gone:
        await store.get("namespaces", None, "team")
    assert gone.value.code == 404
    for resource in ("pods", "secrets", "configmaps", "serviceaccounts", "endpoints"):
        assert store.entries(resource, "team") == []
