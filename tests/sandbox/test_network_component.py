from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from dnslib import RCODE

from sandbox.apiserver.storage import Store
from sandbox.hooks import SandboxConfig, SandboxContext
from sandbox.network.component import NetworkComponent, network_components
from sandbox.network.dns import query
from tests.sandbox.test_network_support import Backend, ask, backends, loopback_block


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Store, NetworkComponent]]:
    # A /24 of our own so concurrent test runs do not hand out the same ClusterIPs.
    store = Store.open(tmp_path, service_cidr=f"{loopback_block('127.2')}.0/24")
    ctx = SandboxContext(config=SandboxConfig(state_dir=tmp_path), store=store)
    [component] = network_components(ctx)
    assert isinstance(component, NetworkComponent)
    await component.start(ctx)
    try:
        yield store, component
    finally:
        await component.stop()
        store.close()
    assert any(line.startswith("dns: 127.0.0.1:") for line in ctx.announcements)


async def until(condition: Callable[[], Any], what: str) -> None:
    for _ in range(100):  # ≤ 5 s
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def endpoints(name: str, bs: list[Backend]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": "default"},
        "subsets": [{"addresses": [{"ip": b.ip}], "ports": [{"name": "grpc", "port": b.port}]} for b in bs],
    }


async def test_services_endpoints_and_ingress_from_the_store(running: tuple[Store, NetworkComponent]) -> None:
    store, net = running
    port = random.randint(20000, 29999)
    async with backends(3) as bs:
        svc = await store.create(
            "services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "greetclient", "namespace": "default"},
                "spec": {
                    "type": "LoadBalancer",
                    "ports": [{"name": "grpc", "port": port, "targetPort": "grpc"}],
                },
            },
        )
        vip = svc["spec"]["clusterIP"]
        await store.create("endpoints", endpoints("greetclient", bs[:2]))
        await until(lambda: (vip, port) in net.proxy.listening, "the ClusterIP listener")
        assert {await ask(vip, port) for _ in range(20)} == {bs[0].ip, bs[1].ip}

        answer = query("greetclient.default.svc.cluster.local", "A", net.dns.port)
        assert [str(rr.rdata) for rr in answer.rr] == [vip]

        async def lb_ingress() -> Any:
            return ((await store.get("services", "default", "greetclient")).get("status") or {}).get(
                "loadBalancer"
            )

        for _ in range(100):
            if await lb_ingress():
                break
            await asyncio.sleep(0.05)
        assert await lb_ingress() == {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}

        # The endpoints move: new connections follow.
        await store.update("endpoints", endpoints("greetclient", bs[2:]))
        await until(
            lambda: net.proxy.listening[(vip, port)].backends == ((bs[2].ip, bs[2].port),), "new endpoints"
        )
        assert await ask(vip, port) == bs[2].ip

        await store.create(
            "ingresses",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "greet-ingress", "namespace": "default"},
                "spec": {
                    "rules": [
                        {
                            "host": "greet.com",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "greetclient", "port": {"name": "grpc"}}
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
        )
        await until(lambda: net.ingress.route("greet.com", "/") is not None, "the ingress rule")
        # The backend is a line server, not HTTP: the ingress reaches it through the VIP and reports 502.
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"http://127.0.0.1:{net.ingress.port}/", headers={"Host": "greet.com"}) as r,
        ):
            assert r.status == 502
        assert net.proxy.connections_by_backend[f"{bs[2].ip}:{bs[2].port}"] >= 2

        await store.delete("services", "default", "greetclient")
        await until(lambda: (vip, port) not in net.proxy.listening, "the listener to go")
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(vip, port)
        gone = query("greetclient.default.svc.cluster.local", "A", net.dns.port)
        assert gone.header.rcode == RCODE.NXDOMAIN
