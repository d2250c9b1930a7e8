from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.network.ingress import IngressRouter
from sandbox.network.model import (
    EndpointView,
    IngressBackendView,
    IngressPathView,
    IngressRuleView,
    IngressView,
    ServicePortView,
    ServiceView,
)
from sandbox.network.proxy import ServiceProxy
from tests.sandbox.test_network_support import loopback_block


async def answer(request: web.Request) -> web.Response:
    body = await request.read()
    ip = request.transport.get_extra_info("sockname")[0] if request.transport else "?"
    return web.json_response(
        {
            "pod": ip,
            "path": request.path_qs,
            "method": request.method,
            "host": request.headers.get("Host"),
            "body": len(body),
            "xff": request.headers.get("X-Forwarded-For"),
            "has_keep_alive": "Keep-Alive" in request.headers,
        },
        headers={"Set-Cookie": "a=1"},
    )


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[IngressRouter, list[str]]]:
    block = loopback_block("127.1")
    pods = [f"{block}.{i}" for i in (1, 2, 3)]
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sites = [web.TCPSite(runner, ip, 0) for ip in pods]
    for site in sites:
        await site.start()
    ports = {addr[0]: addr[1] for addr in runner.addresses}
    vip_block = loopback_block("127.2")
    vip, vip2 = (f"{vip_block}.{n}" for n in random.sample(range(1, 255), 2))
    greetclient = ServiceView(
        "default",
        "greetclient",
        vip,
        (ServicePortView("restgateway", 9091, "TCP", "http"),),
        tuple(EndpointView(ip, True, {"restgateway": ports[ip]}) for ip in pods[:2]),
        type="LoadBalancer",
    )
    api = ServiceView(
        "default",
        "api",
        vip2,
        (ServicePortView("", 80, "TCP", ports[pods[2]]),),
        (EndpointView(pods[2], True, {}),),
    )
    empty = ServiceView("default", "empty", None, (ServicePortView("", 80),), ())
    services = [greetclient, api, empty]
    proxy = ServiceProxy()
    await proxy.sync(services)

    def path(
        p: str, svc: str, *, name: str | None = None, number: int | None = None, kind: str = "Prefix"
    ) -> IngressPathView:
        return IngressPathView(p, kind, IngressBackendView(svc, port_number=number, port_name=name))

    ingress = IngressView(
        "default",
        "greet-ingress",
        (
            IngressRuleView(
                "greet.com",
                (
                    path("/", "greetclient", name="restgateway"),
                    path("/api", "api", number=80),
                    path("/api/exact", "greetclient", name="restgateway", kind="Exact"),
                    path("/down", "empty", number=80),
                ),
            ),
            IngressRuleView("*.greet.com", (path("/", "api", number=80),)),
        ),
    )
    router = IngressRouter()
    router.update([ingress], services)
    await router.start()
    try:
        yield router, pods
    finally:
        await router.stop()
        await proxy.close()
        await runner.cleanup()


async def get(
    router: IngressRouter,
    host: str,
    path: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{router.port}{path}"
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, url, data=data, headers={"Host": host, **(headers or {})}) as r,
    ):
        if r.content_type == "application/json":
            return r.status, await r.json()
        return r.status, await r.text()


async def test_routes_by_host_and_path(cluster: tuple[IngressRouter, list[str]]) -> None:
    router, pods = cluster
    seen = set()
    for _ in range(20):  # a new upstream connection per request: the ClusterIP proxy spreads them
        status, body = await get(router, "greet.com", "/greet?first_name=a")
        assert status == 200 and isinstance(body, dict)
        assert body["path"] == "/greet?first_name=a" and body["host"] == "greet.com"
        seen.add(body["pod"])
    assert seen == set(pods[:2])

    assert (await get(router, "GREET.com:80", "/api/v1"))[1]["pod"] == pods[2]
    assert (await get(router, "greet.com", "/apiv1"))[1]["pod"] in pods[:2]
    assert (await get(router, "greet.com", "/api/exact"))[1]["pod"] in pods[:2]
    assert (await get(router, "greet.com", "/api/exact/x"))[1]["pod"] == pods[2]
    assert (await get(router, "foo.greet.com", "/x"))[1]["pod"] == pods[2]

    assert await get(router, "a.b.greet.com", "/") == (404, "default backend - 404")
    assert await get(router, "example.com", "/greet") == (404, "default backend - 404")
    status, text = await get(router, "greet.com", "/down")
    assert status == 503 and "no ready endpoints" in str(text)


async def test_forwards_method_body_and_headers(cluster: tuple[IngressRouter, list[str]]) -> None:
    router, _ = cluster
    payload = b"y" * (1 << 20)
    status, body = await get(
        router, "greet.com", "/greet", method="POST", data=payload, headers={"Keep-Alive": "timeout=5"}
    )
    assert status == 200 and isinstance(body, dict)
    assert body["method"] == "POST" and body["body"] == len(payload)
    assert body["xff"] == "127.0.0.1"
    assert body["has_keep_alive"] is False  # hop-by-hop headers stop at the proxy
    assert router.responses_by_status[200] == 1
