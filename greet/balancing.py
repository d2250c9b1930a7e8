"""How a client picks a Greet server: pick_first, round_robin (DNS) or lookaside (resolve | watch).

Every balancer hands out a ``Route`` (a stub and the address it talks to); ``greet_call`` makes the
call with a deadline and retries once on UNAVAILABLE through another route.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import grpc
import grpc.aio

from greet.gen.greet.v1 import greet_pb2, greet_pb2_grpc
from greet.gen.lookaside.v1 import lookaside_pb2, lookaside_pb2_grpc

log = logging.getLogger("greet.balancing")

Mode = Literal["pick_first", "round_robin", "lookaside"]
LookasideVariant = Literal["resolve", "watch"]
Routing = Literal["ROUND_ROBIN", "RANDOM"]

MODES: tuple[Mode, ...] = ("pick_first", "round_robin", "lookaside")
ROUTING_VALUES = {"ROUND_ROBIN": lookaside_pb2.ROUTING_ROUND_ROBIN, "RANDOM": lookaside_pb2.ROUTING_RANDOM}


class NoBackends(Exception):
    """The balancer knows no backend to send to (yet)."""


@dataclass(frozen=True)
class Route:
    stub: Any  # greet_pb2_grpc.GreetServiceStub (generated, untyped)
    address: str


class Balancer(Protocol):
    async def start(self) -> None: ...

    async def route(self, *, avoid: str | None = None) -> Route:
        """A route for the next call; ``avoid`` names the address that just failed."""
        ...

    async def close(self) -> None: ...


def _service_config(policy: str) -> str:
    return json.dumps({"loadBalancingConfig": [{policy: {}}]})


class ChannelBalancer:
    """One channel and gRPC's own load-balancing policy (pick_first or round_robin)."""

    def __init__(self, target: str, policy: str, options: Sequence[tuple[str, Any]] = ()) -> None:
        self.target = target
        self._channel = grpc.aio.insecure_channel(
            target, options=[("grpc.service_config", _service_config(policy)), *options]
        )
        self._route = Route(stub=greet_pb2_grpc.GreetServiceStub(self._channel), address=target)

    async def start(self) -> None:
        pass  # the channel connects on the first call

    async def route(self, *, avoid: str | None = None) -> Route:
        # The policy moves away from a failed subchannel by itself; the same channel is the retry.
        return self._route

    async def close(self) -> None:
        await self._channel.close(None)


def pick_first(target: str) -> ChannelBalancer:
    """One channel to the Service address: behind a ClusterIP this sticks to one pod (the seed's bug)."""
    return ChannelBalancer(target, "pick_first")


def dns_target(name: str, port: int, dns_server: str | None) -> str:
    # grpcio's default (c-ares) resolver honours the authority as the DNS server; "native" does not.
    return f"dns://{dns_server or ''}/{name}:{port}"


def round_robin(
    name: str, port: int, *, dns_server: str | None = None, min_resolution_interval_ms: int = 30_000
) -> ChannelBalancer:
    """A DNS target with the round_robin policy: one subchannel per A record (headless Service)."""
    return ChannelBalancer(
        dns_target(name, port, dns_server),
        "round_robin",
        [("grpc.dns_min_time_between_resolutions_ms", min_resolution_interval_ms)],
    )


class BackendChannels:
    """One cached channel per backend address (the seed's design: connections are reused)."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[grpc.aio.Channel, Route]] = {}

    def route(self, address: str) -> Route:
        entry = self._routes.get(address)
        if entry is None:
            channel = grpc.aio.insecure_channel(address)
            entry = self._routes[address] = (
                channel,
                Route(greet_pb2_grpc.GreetServiceStub(channel), address),
            )
        return entry[1]

    def failing(self, address: str) -> bool:
        entry = self._routes.get(address)
        return entry is not None and (
            entry[0].get_state(try_to_connect=False) is grpc.ChannelConnectivity.TRANSIENT_FAILURE
        )

    async def retain(self, addresses: Sequence[str]) -> None:
        """Close channels to backends that are gone."""
        keep = set(addresses)
        for address in [a for a in self._routes if a not in keep]:
            channel, _ = self._routes.pop(address)
            await channel.close(None)

    async def close(self) -> None:
        await self.retain(())


class LookasideResolve:
    """One Resolve RPC before every call, exactly as the seed does."""

    def __init__(
        self,
        lookaside: str,
        service: str,
        namespace: str,
        routing: Routing = "ROUND_ROBIN",
        timeout: float = 1.0,
    ) -> None:
        self._channel = grpc.aio.insecure_channel(lookaside)
        self._stub = lookaside_pb2_grpc.LookasideServiceStub(self._channel)
        self._request = lookaside_pb2.ResolveRequest(
            service=service, namespace=namespace, routing=ROUTING_VALUES[routing]
        )
        self._timeout = timeout
        self._backends = BackendChannels()

    async def start(self) -> None:
        pass

    async def route(self, *, avoid: str | None = None) -> Route:
        for _ in range(3):  # the balancer rotates, so a second ask yields another backend
            try:
                response = await self._stub.Resolve(self._request, timeout=self._timeout)
            except grpc.aio.AioRpcError as error:
                raise NoBackends(
                    f"lookaside Resolve failed: {error.code().name}: {error.details()}"
                ) from error
            if response.address != avoid and not self._backends.failing(response.address):
                break
        return self._backends.route(response.address)

    async def close(self) -> None:
        await self._backends.close()
        await self._channel.close(None)


class LookasideWatch:
    """Subscribes to the balancer's backend stream and picks round robin locally: no RPC per call."""

    def __init__(self, lookaside: str, service: str, namespace: str, *, reconnect_delay: float = 0.5) -> None:
        self._channel = grpc.aio.insecure_channel(lookaside)
        self._stub = lookaside_pb2_grpc.LookasideServiceStub(self._channel)
        self._request = lookaside_pb2.WatchRequest(service=service, namespace=namespace)
        self._reconnect_delay = reconnect_delay
        self._backends = BackendChannels()
        self._routes: tuple[Route, ...] = ()
        self._counter = itertools.count()
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.revision = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="lookaside-watch")

    async def _follow(self) -> None:
        while True:
            try:
                async for message in self._stub.Watch(self._request):
                    backends = message.backends
                    addresses = list(backends.addresses)
                    await self._backends.retain(addresses)
                    self._routes = tuple(self._backends.route(a) for a in addresses)
                    self.revision = backends.revision
                    self._synced.set()
                    log.info(
                        "backends",
                        extra={"fields": {"revision": backends.revision, "addresses": addresses}},
                    )
            except grpc.aio.AioRpcError as error:
                log.warning("lookaside watch dropped", extra={"fields": {"code": error.code().name}})
            await asyncio.sleep(self._reconnect_delay)

    async def wait_synced(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._synced.wait(), timeout)

    async def route(self, *, avoid: str | None = None) -> Route:
        routes = self._routes
        if not routes:
            await self.wait_synced(2.0)
            routes = self._routes
            if not routes:
                raise NoBackends("the lookaside balancer has sent no backends")
        n = len(routes)
        # Skip the backend that just failed and any whose channel is in TRANSIENT_FAILURE. Skipping
        # consumes the counter, so the survivors still share the load evenly.
        for _ in range(n):
            candidate = routes[next(self._counter) % n]
            if candidate.address != avoid and not self._backends.failing(candidate.address):
                return candidate
        return candidate

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._backends.close()
        await self._channel.close(None)


async def greet_call(
    balancer: Balancer, request: greet_pb2.GreetRequest, *, timeout: float = 2.0
) -> greet_pb2.GreetResponse:
    """Greet with a deadline; one retry through another route if the first answer is UNAVAILABLE."""
    route = await balancer.route()
    try:
        response: greet_pb2.GreetResponse = await route.stub.Greet(request, timeout=timeout)
        return response
    except grpc.aio.AioRpcError as error:
        if error.code() is not grpc.StatusCode.UNAVAILABLE:
            raise
        log.info("retrying", extra={"fields": {"failed": route.address, "details": error.details()}})
    route = await balancer.route(avoid=route.address)
    response = await route.stub.Greet(request, timeout=timeout)
    return response
