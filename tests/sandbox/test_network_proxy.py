from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from sandbox.network.model import EndpointView, ServicePortView, ServiceView
from sandbox.network.proxy import ServiceProxy
from tests.sandbox.test_network_support import Backend, ask, backends, free_port, loopback_block


def service(vip: str, eps: list[Backend], *, node_port: int | None = None) -> ServiceView:
    # Named targetPort: each endpoint carries its own number under the Service port's name.
    return ServiceView(
        namespace="default",
        name="greetserver",
        cluster_ip=vip,
        type="NodePort" if node_port else "ClusterIP",
        ports=(ServicePortView(name="grpc", port=50051, target_port="grpc", node_port=node_port),),
        endpoints=tuple(EndpointView(ip=b.ip, ports={"grpc": b.port}) for b in eps),
    )


@pytest.fixture
async def proxy() -> AsyncIterator[ServiceProxy]:
    p = ServiceProxy()
    yield p
    await p.close()


@pytest.fixture
def vip() -> str:
    return f"{loopback_block('127.2')}.{random.randint(1, 254)}"


async def test_new_connections_spread_over_all_ready_endpoints(proxy: ServiceProxy, vip: str) -> None:
    async with backends(3) as bs:
        await proxy.sync([service(vip, bs)])
        answers: Counter[str] = Counter()
        for _ in range(6):  # 300 connections, 50 at a time
            answers.update(await asyncio.gather(*(ask(vip, 50051) for _ in range(50))))
        assert set(answers) == {b.ip for b in bs}
        assert all(n > 50 for n in answers.values()), answers
        assert proxy.connections_total == 300
        assert sum(proxy.connections_by_backend.values()) == 300


async def test_established_connection_stays_new_ones_follow_endpoints(proxy: ServiceProxy, vip: str) -> None:
    async with backends(3) as old, backends(2) as new:
        await proxy.sync([service(vip, old)])
        reader, writer = await asyncio.open_connection(vip, 50051)
        writer.write(b"who\n")
        pinned = (await reader.readline()).decode().strip()
        assert pinned in {b.ip for b in old}

        await proxy.sync([service(vip, new)])
        for _ in range(5):  # like conntrack: the established flow keeps its backend
            writer.write(b"who\n")
            assert (await reader.readline()).decode().strip() == pinned
        fresh = {await ask(vip, 50051) for _ in range(40)}
        assert fresh == {b.ip for b in new}
        writer.close()


async def test_no_ready_endpoint_is_refused(proxy: ServiceProxy, vip: str) -> None:
    async with backends(1) as bs:
        await proxy.sync([service(vip, bs)])
        assert await ask(vip, 50051) == bs[0].ip
        not_ready = replace(
            service(vip, bs), endpoints=(EndpointView(bs[0].ip, False, {"grpc": bs[0].port}),)
        )
        await proxy.sync([not_ready])
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(vip, 50051)
        await proxy.sync([service(vip, bs)])  # ready again → listening again
        assert await ask(vip, 50051) == bs[0].ip
        await proxy.sync([])  # Service deleted
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(vip, 50051)


async def test_half_close_and_bulk_bytes_and_node_port(proxy: ServiceProxy, vip: str) -> None:
    node_port = free_port()
    async with backends(1) as bs:
        await proxy.sync([service(vip, bs, node_port=node_port)])
        assert await ask("127.0.0.1", node_port) == bs[0].ip
        reader, writer = await asyncio.open_connection(vip, 50051)
        payload = b"x" * (8 << 20)
        writer.write(b"sink\n" + payload)
        await writer.drain()
        writer.write_eof()  # the backend answers only after it sees our FIN
        answer = await asyncio.wait_for(reader.readline(), 10)
        assert answer.decode().split() == [bs[0].ip, str(len(payload))]
        assert await reader.read() == b""  # the backend's FIN comes back too
        writer.close()
        assert proxy.bytes_to_backends >= len(payload)


async def test_udp_ports_are_ignored(proxy: ServiceProxy, vip: str) -> None:
    svc = ServiceView(
        "kube-system",
        "dns",
        vip,
        ports=(ServicePortView("dns", 53, "UDP"), ServicePortView("dns-tcp", 5353, "TCP")),
        endpoints=(EndpointView("127.1.0.9"),),
    )
    assert list(proxy.desired([svc])) == [(vip, 5353)]
