"""An Ingress controller: one HTTP listener on loopback routing networking.k8s.io/v1 Ingress rules.

Host: exact, or `*.example.com` matching exactly one more label; rules without a host match every host.
More specific hosts are tried first (exact, wildcard, none). Path: `Exact`, or `Prefix` by path elements
(`/foo` matches `/foo` and `/foo/bar`, not `/foobar`); `ImplementationSpecific` is treated as `Prefix`.
The longest match wins, `Exact` before `Prefix` at equal length. Nothing matches → `spec.defaultBackend` if an
Ingress has one, else 404 `default backend - 404` (ingress-nginx's default backend text).

The request goes to the Service's ClusterIP:port, so it passes the ClusterIP proxy as it would in a cluster;
a headless Service is reached at a ready endpoint directly. No ready endpoint → 503, backend unreachable → 502.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from sandbox.network.model import IngressBackendView, IngressView, ServiceView, endpoint_port

log = logging.getLogger(__name__)

# RFC 9110 §7.6.1 connection-specific fields, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass(frozen=True)
class Route:
    namespace: str
    ingress: str
    host: str | None  # None: any host
    path: str
    path_type: str
    backend: IngressBackendView

    def matches_path(self, path: str) -> bool:
        if self.path_type == "Exact":
            return path == self.path
        prefix = self.path.rstrip("/")
        if not prefix:
            return True  # "/" matches every path
        return path == prefix or path.startswith(prefix + "/")

    @property
    def rank(self) -> tuple[int, int]:
        return (len(self.path.rstrip("/")), 1 if self.path_type == "Exact" else 0)


def host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return host == pattern


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class IngressRouter:
    """Routes requests for the current Ingresses; `update` on every change, `start`/`stop` the listener."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.requested_port = port
        self.port = 0
        self._routes: list[Route] = []
        self._defaults: list[tuple[str, IngressBackendView]] = []
        self._services: dict[tuple[str, str], ServiceView] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.requests_total = 0
        self.responses_by_status: dict[int, int] = {}

    def update(self, ingresses: Sequence[IngressView], services: Sequence[ServiceView]) -> None:
        routes: list[Route] = []
        defaults: list[tuple[str, IngressBackendView]] = []
        for ing in sorted(ingresses, key=lambda i: (i.namespace, i.name)):
            for rule in ing.rules:
                host = rule.host.lower() if rule.host else None
                for p in rule.paths:
                    routes.append(Route(ing.namespace, ing.name, host, p.path or "/", p.path_type, p.backend))
            if ing.default_backend is not None:
                defaults.append((ing.namespace, ing.default_backend))
        self._routes = routes
        self._defaults = defaults
        self._services = {s.key: s for s in services}

    def route(self, host: str, path: str) -> tuple[str, IngressBackendView] | None:
        """The (namespace, backend) for a request, or None for the default backend's 404."""
        host = _strip_port(host).lower().rstrip(".")
        groups: tuple[list[Route], list[Route], list[Route]] = ([], [], [])
        for r in self._routes:
            if r.host is None:
                groups[2].append(r)
            elif r.host.startswith("*.") and host_matches(r.host, host):
                groups[1].append(r)
            elif r.host == host:
                groups[0].append(r)
        for group in groups:
            candidates = [r for r in group if r.matches_path(path)]
            if candidates:
                best = max(candidates, key=lambda r: r.rank)
                return best.namespace, best.backend
        return self._defaults[0] if self._defaults else None

    def upstream(self, namespace: str, backend: IngressBackendView) -> tuple[str, int] | str:
        """host:port to send to; an error text when the Service cannot take traffic."""
        svc = self._services.get((namespace, backend.service_name))
        if svc is None:
            return f"service {namespace}/{backend.service_name} not found"
        port = svc.port_named(backend.port_name) if backend.port_name else None
        if port is None and backend.port_number is not None:
            port = svc.port_numbered(backend.port_number)
        if port is None:
            return f"service {namespace}/{backend.service_name} has no port {backend.port_name or backend.port_number}"
        ready = svc.ready_endpoints
        if not ready:
            return f"service {namespace}/{backend.service_name} has no ready endpoints"
        if not svc.headless:
            return (str(svc.cluster_ip), port.port)
        choices = [(ep.ip, n) for ep in ready if (n := endpoint_port(ep, port)) is not None]
        return random.choice(choices) if choices else f"no endpoint of {svc.name} has port {port.name}"

    def _count(self, status: int) -> None:
        self.responses_by_status[status] = self.responses_by_status.get(status, 0) + 1

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests_total += 1
        host = request.headers.get("Host", "")
        match = self.route(host, request.path)
        if match is None:
            self._count(404)
            return web.Response(status=404, text="default backend - 404")
        target = self.upstream(*match)
        if isinstance(target, str):
            self._count(503)
            return web.Response(status=503, text=f"503 Service Temporarily Unavailable: {target}\n")
        return await self._forward(request, target)

    async def _forward(self, request: web.Request, target: tuple[str, int]) -> web.StreamResponse:
        assert self._session is not None
        headers = _forwardable(request.headers)
        peer = request.remote or ""
        prior = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
        headers["X-Real-IP"] = peer
        headers["X-Forwarded-Host"] = request.headers.get("Host", "")
        headers["X-Forwarded-Proto"] = request.scheme
        data = request.content.iter_chunked(1 << 16) if request.body_exists else None
        url = f"http://{target[0]}:{target[1]}{request.rel_url}"
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=data, allow_redirects=False
            ) as upstream:
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                response.headers.extend(_forwardable(upstream.headers))
                await response.prepare(request)
                async for chunk in upstream.content.iter_chunked(1 << 16):
                    await response.write(chunk)
                await response.write_eof()
                self._count(upstream.status)
                return response
        except (aiohttp.ClientConnectionError, aiohttp.ServerTimeoutError) as exc:
            log.info("ingress: %s %s → %s:%s failed: %s", request.method, request.path, *target, exc)
            self._count(502)
            return web.Response(status=502, text="502 Bad Gateway\n")

    async def start(self) -> None:
        # One connection per request: a kept-alive upstream connection would pin every request to the pod
        # the ClusterIP proxy picked first, and nginx balances per request.
        connector = aiohttp.TCPConnector(force_close=True, limit=256)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # bodies pass through as the backend encoded them
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_read=60),
        )
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("ingress: listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None


def _forwardable(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """Headers minus hop-by-hop ones and those the Connection header names; repeated fields kept."""
    listed = {t.strip().lower() for t in headers.get("Connection", "").split(",") if t.strip()}
    items = headers.items()
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in items:
        lower = name.lower()
        if lower not in HOP_BY_HOP and lower not in listed:
            out.add(name, value)
    return out
