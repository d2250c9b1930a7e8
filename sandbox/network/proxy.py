"""A kube-proxy-like L4 TCP proxy for Service VIPs on loopback.

For every Service with a ClusterIP, one listener per TCP port on ClusterIP:port, plus 127.0.0.1:nodePort for
NodePort/LoadBalancer Services. (The load balancer's IP:port is not listened on: that IP is the node's
127.0.0.1, where ports like 9091 or 50051 would collide with the machine's other programs.) Every new
connection is sent to a random ready endpoint, like iptables mode's `statistic --mode random`. Endpoint changes only affect new
connections: an established connection stays on its backend, as a conntrack entry keeps it in the kernel —
which is exactly why a gRPC client with one long-lived HTTP/2 connection sticks to one pod.

A listener whose Service has no ready endpoint is closed, so connecting gets ECONNREFUSED, as kube-proxy's
REJECT rule gives; a connection that raced in is reset.

Bytes are spliced with asyncio Protocols (no per-chunk coroutine): data_received writes straight to the
peer's transport, and the peer's pause_writing/resume_writing pause and resume reading on this side, so a
slow reader holds back a fast writer without buffering without bound. Half-close is passed through
(write_eof), so request/response protocols that shut down their sending side keep working.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import socket
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.network.model import ServiceView, endpoint_port

log = logging.getLogger(__name__)

Address = tuple[str, int]

# Per-direction write buffer on each side before reading from the other side pauses.
_HIGH_WATER = 512 * 1024


def _reset(transport: asyncio.Transport) -> None:
    """Close with an RST (SO_LINGER 0), what a client sees when its connection is rejected."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@dataclass(frozen=True)
class ListenerSpec:
    """What one listening address forwards to: the Service port it belongs to and its ready backends."""

    service: tuple[str, str]
    port_name: str
    backends: tuple[Address, ...]


class _Side(asyncio.Protocol):
    """One end of a spliced connection; `peer` is the other end."""

    def __init__(self, conn: _Connection, outbound: bool) -> None:
        self.conn = conn
        self.outbound = outbound  # True for the client → backend direction's reader
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.eof = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_HIGH_WATER)
        if self.outbound:
            self.conn.start()  # a client just arrived: pick its backend

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None or peer.closed:
            return
        peer.transport.write(data)
        proxy = self.conn.proxy
        if self.outbound:
            proxy.bytes_to_backends += len(data)
        else:
            proxy.bytes_to_clients += len(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.closed:
            if peer.transport.can_write_eof():
                peer.transport.write_eof()
            else:
                peer.transport.close()
        if peer is not None and peer.eof:
            self.conn.close()
        # Keep the transport open: the other direction may still be sending (half-close).
        return True

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.peer.closed:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.closed:
            if exc is not None:
                _reset(peer.transport)  # a reset on one side is passed on as a reset
            else:
                peer.transport.close()  # flushes what is still buffered, then FIN
        self.conn.lost()


class _Connection:
    """A client connection accepted on a Service address and its backend connection."""

    def __init__(self, proxy: ServiceProxy, listener: _Listener) -> None:
        self.proxy = proxy
        self.listener = listener
        self.client = _Side(self, outbound=True)
        self.backend = _Side(self, outbound=False)
        self.client.peer = self.backend
        self.backend.peer = self.client
        self.task: asyncio.Task[None] | None = None
        self.counted = False

    def start(self) -> None:
        transport = self.client.transport
        assert transport is not None
        backends = self.listener.spec.backends
        if not backends:
            self.proxy.connections_rejected += 1
            _reset(transport)
            return
        transport.pause_reading()  # until the backend connection exists
        self.proxy._active.add(self)
        self.counted = True
        self.proxy.connections_active += 1
        self.task = asyncio.get_running_loop().create_task(self._connect(random.choice(backends)))

    async def _connect(self, backend: Address) -> None:
        client_transport = self.client.transport
        assert client_transport is not None
        loop = asyncio.get_running_loop()
        peer = client_transport.get_extra_info("peername")
        # Connect from the client's own loopback address, so the pod sees its real peer (no SNAT).
        local: Address | None = (peer[0], 0) if peer and peer[0].startswith("127.") else None
        try:
            try:
                await loop.create_connection(lambda: self.backend, backend[0], backend[1], local_addr=local)
            except OSError as exc:
                if local is None or exc.errno != errno.EADDRNOTAVAIL:
                    raise
                await loop.create_connection(lambda: self.backend, backend[0], backend[1])
        except OSError as exc:
            # iptables mode does not retry another endpoint either: the client sees the failure.
            log.debug("connect to %s:%s failed: %s", backend[0], backend[1], exc)
            self.proxy.connect_failures += 1
            if not self.client.closed:
                _reset(client_transport)
            return
        self.proxy.connections_total += 1
        self.proxy.connections_by_backend[f"{backend[0]}:{backend[1]}"] += 1
        if self.client.closed:
            if self.backend.transport is not None:
                self.backend.transport.close()
            return
        if self.client.eof and self.backend.transport is not None:
            self.backend.transport.write_eof()
        client_transport.resume_reading()

    def close(self) -> None:
        for side in (self.client, self.backend):
            if side.transport is not None and not side.closed:
                side.transport.close()

    def abort(self) -> None:
        if self.task is not None:
            self.task.cancel()
        for side in (self.client, self.backend):
            if side.transport is not None and not side.closed:
                side.transport.abort()

    def lost(self) -> None:
        both_gone = self.client.closed and (self.backend.closed or self.backend.transport is None)
        if both_gone and self.counted:
            self.counted = False
            self.proxy.connections_active -= 1
            self.proxy._active.discard(self)


class _Listener:
    """One listening address. The spec is replaced in place; connections read it when they arrive."""

    def __init__(self, proxy: ServiceProxy, address: Address, spec: ListenerSpec) -> None:
        self.proxy = proxy
        self.address = address
        self.spec = spec
        self.server: asyncio.Server | None = None
        self.bind_error: str | None = None  # logged once, retried on every sync

    def _accept(self) -> _Side:
        return _Connection(self.proxy, self).client

    async def apply(self) -> None:
        """Listen when there is a ready backend, stop listening (→ ECONNREFUSED) when there is none."""
        if self.spec.backends and self.server is None:
            loop = asyncio.get_running_loop()
            try:
                self.server = await loop.create_server(
                    self._accept, self.address[0], self.address[1], reuse_address=True, backlog=1024
                )
            except OSError as exc:
                if self.bind_error != str(exc):
                    log.warning(
                        "service %s/%s: cannot listen on %s:%s: %s", *self.spec.service, *self.address, exc
                    )
                self.bind_error = str(exc)
            else:
                self.bind_error = None
        elif not self.spec.backends and self.server is not None:
            self.stop()

    def stop(self) -> None:
        # Closing the listening socket leaves accepted connections alone, as conntrack does.
        if self.server is not None:
            self.server.close()
            self.server = None


class ServiceProxy:
    """Reconciles listeners for Services; `sync` is idempotent and may be called on every change."""

    def __init__(self, node_ip: str = "127.0.0.1") -> None:
        self.node_ip = node_ip
        self._listeners: dict[Address, _Listener] = {}
        self._active: set[_Connection] = set()
        self._warned_udp: set[tuple[str, str, int]] = set()
        self._lock = asyncio.Lock()
        # Metrics: plain counters, read them directly.
        self.connections_total = 0  # connections established to a backend
        self.connections_active = 0
        self.connections_rejected = 0  # accepted while no endpoint was ready, reset at once
        self.connect_failures = 0  # the chosen endpoint refused or was unreachable
        self.bytes_to_backends = 0
        self.bytes_to_clients = 0
        self.connections_by_backend: Counter[str] = Counter()

    @property
    def listening(self) -> dict[Address, ListenerSpec]:
        """Addresses currently accepting connections and what they forward to."""
        return {a: lst.spec for a, lst in self._listeners.items() if lst.server is not None}

    def desired(self, services: Sequence[ServiceView]) -> dict[Address, ListenerSpec]:
        """The listening addresses and backends that `services` call for."""
        wanted: dict[Address, ListenerSpec] = {}
        for svc in services:
            if svc.type == "ExternalName":
                continue
            ready = svc.ready_endpoints
            for port in svc.ports:
                if port.protocol.upper() != "TCP":
                    marker = (svc.namespace, svc.name, port.port)
                    if marker not in self._warned_udp:
                        self._warned_udp.add(marker)
                        log.info(
                            "service %s/%s port %s/%s ignored: only TCP is proxied",
                            svc.namespace,
                            svc.name,
                            port.port,
                            port.protocol,
                        )
                    continue
                backends: list[Address] = []
                for ep in ready:
                    number = endpoint_port(ep, port)
                    if number is not None:
                        backends.append((ep.ip, number))
                spec = ListenerSpec(svc.key, port.name, tuple(sorted(set(backends))))
                addresses: list[Address] = []
                if not svc.headless:
                    addresses.append((str(svc.cluster_ip), port.port))
                if svc.type in ("NodePort", "LoadBalancer") and port.node_port:
                    addresses.append((self.node_ip, port.node_port))
                for address in addresses:
                    if address in wanted and wanted[address].service != svc.key:
                        log.warning(
                            "%s:%s wanted by both %s/%s and %s/%s; keeping the first",
                            *address,
                            *wanted[address].service,
                            *svc.key,
                        )
                        continue
                    wanted[address] = spec
        return wanted

    async def sync(self, services: Sequence[ServiceView]) -> None:
        """Make the listeners match `services`: add, remove and update backends in place."""
        async with self._lock:
            wanted = self.desired(services)
            for address in list(self._listeners):
                if address not in wanted:
                    self._listeners.pop(address).stop()
            for address, spec in wanted.items():
                listener = self._listeners.get(address)
                if listener is None:
                    listener = self._listeners[address] = _Listener(self, address, spec)
                else:
                    listener.spec = spec
                await listener.apply()

    async def close(self) -> None:
        """Stop every listener and drop every proxied connection."""
        async with self._lock:
            for listener in self._listeners.values():
                listener.stop()
            self._listeners.clear()
            for conn in list(self._active):
                conn.abort()
            self._active.clear()
            self.connections_active = 0
        await asyncio.sleep(0)  # let the transports run their connection_lost callbacks
