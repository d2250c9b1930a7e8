from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from dnslib import QTYPE, RCODE
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]  # set at import, no stub

from sandbox.network.dns import ClusterDNS, query
from sandbox.network.model import EndpointView, ServicePortView, ServiceView
from tests.sandbox.test_network_support import free_port, loopback_block


def greet_services(pod_ips: list[str], port: int) -> list[ServiceView]:
    eps = tuple(EndpointView(ip, True, {"grpc": port}) for ip in pod_ips)
    not_ready = EndpointView("127.1.0.250", False, {"grpc": port})
    grpc_port = (ServicePortView("grpc", port, "TCP", port),)
    return [
        ServiceView("default", "greetserver", None, grpc_port, (*eps, not_ready)),
        ServiceView("default", "greetserver-vip", "127.2.0.10", grpc_port, eps),
        ServiceView("default", "external", None, type="ExternalName", external_name="example.org"),
    ]


@pytest.fixture
def dns() -> Iterator[ClusterDNS]:
    server = ClusterDNS()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_service_names(dns: ClusterDNS, tcp: bool) -> None:
    pods = ["127.1.0.1", "127.1.0.2", "127.1.0.3"]
    dns.update(greet_services(pods, 50051))
    assert dns.port > 0

    headless = query("greetserver.default.svc.cluster.local", "A", dns.port, tcp=tcp)
    assert sorted(str(rr.rdata) for rr in headless.rr) == pods  # the not-ready pod is left out
    assert all(rr.ttl == 5 for rr in headless.rr)

    vip = query("greetserver-vip.default.svc.cluster.local", "A", dns.port, tcp=tcp)
    assert [str(rr.rdata) for rr in vip.rr] == ["127.2.0.10"]

    srv = query("_grpc._tcp.greetserver-vip.default.svc.cluster.local", "SRV", dns.port, tcp=tcp)
    assert [(rr.rdata.port, str(rr.rdata.target)) for rr in srv.rr] == [
        (50051, "greetserver-vip.default.svc.cluster.local.")
    ]
    assert [str(rr.rdata) for rr in srv.ar] == ["127.2.0.10"]

    srv_headless = query("_grpc._tcp.greetserver.default.svc.cluster.local", "SRV", dns.port, tcp=tcp)
    assert sorted(str(rr.rdata.target) for rr in srv_headless.rr) == [
        f"127-1-0-{i}.greetserver.default.svc.cluster.local." for i in (1, 2, 3)
    ]
    pod_in_svc = query("127-1-0-2.greetserver.default.svc.cluster.local", "A", dns.port, tcp=tcp)
    assert [str(rr.rdata) for rr in pod_in_svc.rr] == ["127.1.0.2"]

    unknown = query("nothere.default.svc.cluster.local", "A", dns.port, tcp=tcp)
    assert unknown.header.rcode == RCODE.NXDOMAIN
    assert unknown.auth and unknown.auth[0].rtype == QTYPE.SOA

    outside = query("example.com", "A", dns.port, tcp=tcp)
    assert outside.header.rcode == RCODE.REFUSED and not outside.rr


def test_pods_external_name_nodata_and_updates(dns: ClusterDNS) -> None:
    dns.update(greet_services(["127.1.0.1"], 50051))
    pod = query("127-1-0-7.default.pod.cluster.local", "A", dns.port)
    assert [str(rr.rdata) for rr in pod.rr] == ["127.1.0.7"]
    assert query("999-1-0-7.default.pod.cluster.local", "A", dns.port).header.rcode == RCODE.NXDOMAIN

    cname = query("external.default.svc.cluster.local", "A", dns.port)
    assert [(rr.rtype, str(rr.rdata)) for rr in cname.rr] == [(QTYPE.CNAME, "example.org.")]

    nodata = query("greetserver-vip.default.svc.cluster.local", "AAAA", dns.port)
    assert nodata.header.rcode == RCODE.NOERROR and not nodata.rr and nodata.auth

    dns.update([])  # every Service gone
    gone = query("greetserver-vip.default.svc.cluster.local", "A", dns.port)
    assert gone.header.rcode == RCODE.NXDOMAIN


class CountingHealth(health_aio.HealthServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def Check(self, request: Any, context: Any) -> Any:
        self.checks += 1
        return await super().Check(request, context)


async def test_grpc_dns_resolver_round_robin_reaches_every_pod(dns: ClusterDNS) -> None:
    block = loopback_block("127.1")
    pods = [f"{block}.{i}" for i in (1, 2, 3)]
    port = free_port(pods[0])  # every pod listens on the same port, as a Deployment's pods do
    servers, servicers = [], []
    for ip in pods:
        servicer = CountingHealth()
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        assert server.add_insecure_port(f"{ip}:{port}") == port
        await server.start()
        servers.append(server)
        servicers.append(servicer)
    dns.update(greet_services(pods, port))
    target = f"dns://127.0.0.1:{dns.port}/greetserver.default.svc.cluster.local:{port}"
    try:
        async with grpc.aio.insecure_channel(target, options=[("grpc.lb_policy_name", "round_robin")]) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            for _ in range(30):
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
        # round_robin over the 3 A records (not exactly 10 each: subchannels become ready one by one)
        checks = [s.checks for s in servicers]
        assert sum(checks) == 30 and min(checks) >= 5, checks
        assert dns.resolver.queries > 0
    finally:
        await asyncio.gather(*(s.stop(None) for s in servers))


def test_port_zero_picks_a_free_port() -> None:
    # Two servers on port 0 get distinct ports, and the bound port is the one reported.
    a, b = ClusterDNS(), ClusterDNS()
    a.start()
    b.start()
    try:
        assert a.port != b.port
        assert query("x.cluster.local", "A", a.port).header.rcode == RCODE.NXDOMAIN
    finally:
        a.stop()
        b.stop()
