"""The lookaside balancer: ``python -m greet.lookaside --listen HOST:PORT --source static|kubernetes``.

``Resolve`` hands out one backend per call (round robin or random, as in the seed); ``Watch`` streams
the whole backend set at subscribe time and after every change, so clients can pick locally.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio  # grpc-stubs lacks the asyncio servicer

from greet.backend_sources import BackendSource, KubernetesSource, ServiceKey, StaticSource
from greet.gen.lookaside.v1 import lookaside_pb2, lookaside_pb2_grpc
from greet.serving import add_health_and_reflection, bind, new_server, serve_until_signalled, split_hostport
from greet.telemetry import configure_logging, start_metrics_server

log = logging.getLogger("greet.lookaside")

SERVICE_NAME = lookaside_pb2.DESCRIPTOR.services_by_name["LookasideService"].full_name
FIRST_SYNC_TIMEOUT_S = 5.0


class BackendTable:
    """The current backends of one Service, with a revision that increases on every change."""

    def __init__(self) -> None:
        self.addresses: tuple[str, ...] = ()
        self.revision = 0
        self._next = 0
        self._changed = asyncio.Event()

    def publish(self, addresses: Sequence[str]) -> None:
        new = tuple(sorted(set(addresses)))
        if self.revision and new == self.addresses:
            return
        self.addresses = new
        self.revision += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def changed_after(self, revision: int, timeout: float | None = None) -> bool:
        """Wait until the table is newer than ``revision``; False on timeout."""
        while self.revision <= revision:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return False
        return True

    def pick(self, routing: int) -> str | None:
        if not self.addresses:
            return None
        if routing == lookaside_pb2.ROUTING_RANDOM:
            return random.choice(self.addresses)
        address = self.addresses[self._next % len(self.addresses)]
        self._next += 1
        return address


class BackendRegistry:
    """One BackendTable per (service, namespace), filled by the source on first use."""

    def __init__(self, source: BackendSource) -> None:
        self._source = source
        self._tables: dict[ServiceKey, BackendTable] = {}

    async def table(self, key: ServiceKey) -> BackendTable:
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = BackendTable()
            loop = asyncio.get_running_loop()

            def publish(addresses: Sequence[str]) -> None:
                # Sources may publish from their own threads; the table lives on the event loop.
                loop.call_soon_threadsafe(table.publish, list(addresses))

            self._source.track(key, publish)
        if not table.revision:
            await table.changed_after(0, FIRST_SYNC_TIMEOUT_S)
        return table


def _key(service: str, namespace: str) -> ServiceKey:
    return ServiceKey(service=service, namespace=namespace or "default")


class LookasideService(lookaside_pb2_grpc.LookasideServiceServicer):  # type: ignore[misc]  # generated
    def __init__(self, registry: BackendRegistry) -> None:
        self._registry = registry

    async def Resolve(
        self, request: lookaside_pb2.ResolveRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> lookaside_pb2.ResolveResponse:
        if not request.service:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "service must not be empty")
        table = await self._registry.table(_key(request.service, request.namespace))
        address = table.pick(request.routing)
        if address is None:
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"no ready backends for {request.namespace}/{request.service}"
            )
        return lookaside_pb2.ResolveResponse(address=address)

    async def Watch(
        self, request: lookaside_pb2.WatchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[lookaside_pb2.WatchResponse]:
        if not request.service:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "service must not be empty")
        table = await self._registry.table(_key(request.service, request.namespace))
        revision, sent = 0, False
        while True:
            # Always send at subscribe time, even an empty set, so the client knows it is synced.
            if table.revision > revision or not sent:
                revision, sent = table.revision, True
                yield lookaside_pb2.WatchResponse(
                    backends=lookaside_pb2.Backends(addresses=table.addresses, revision=revision)
                )
            await table.changed_after(revision)


@dataclass
class RunningLookaside:
    server: grpc.aio.Server
    port: int
    health: health_aio.HealthServicer


async def create_server(
    listen: str, source: BackendSource, *, max_connection_age: float | None = None, log_rpcs: bool = True
) -> RunningLookaside:
    """Build, bind and start a lookaside server; ``listen`` may use port 0 (see ``.port``)."""
    server = new_server(
        pod=os.environ.get("POD_NAME", "lookaside"), max_connection_age=max_connection_age, log_rpcs=log_rpcs
    )
    lookaside_pb2_grpc.add_LookasideServiceServicer_to_server(
        LookasideService(BackendRegistry(source)), server
    )
    health_servicer = await add_health_and_reflection(server, [SERVICE_NAME])
    port = bind(server, listen)
    await server.start()
    return RunningLookaside(server=server, port=port, health=health_servicer)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m greet.lookaside", description="The lookaside.v1 balancer."
    )
    parser.add_argument("--listen", default=os.environ.get("LB_LISTEN", "0.0.0.0:50055"))
    parser.add_argument(
        "--source", choices=("static", "kubernetes"), default=os.environ.get("LB_SOURCE", "kubernetes")
    )
    parser.add_argument(
        "--backends",
        default=os.environ.get("LB_BACKENDS", ""),
        help="comma-separated ip:port list for --source static",
    )
    parser.add_argument(
        "--port-name", default=None, help="EndpointSlice port name to use (default: the first)"
    )
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--context", default=None)
    parser.add_argument("--metrics-port", type=int, default=None)
    parser.add_argument("--grace", type=float, default=2.0)
    parser.add_argument("--no-rpc-log", action="store_true")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if args.source == "static" and not args.backends:
        parser.error("--source static needs --backends ip:port,...")
    return args


async def serve(args: argparse.Namespace) -> None:
    source: BackendSource
    if args.source == "static":
        source = StaticSource([b.strip() for b in args.backends.split(",") if b.strip()])
    else:
        source = KubernetesSource(port_name=args.port_name, kubeconfig=args.kubeconfig, context=args.context)
    running = await create_server(args.listen, source, log_rpcs=not args.no_rpc_log)
    fields: dict[str, Any] = {"listen": args.listen, "port": running.port, "source": args.source}
    if args.metrics_port is not None:
        fields["metrics_port"] = start_metrics_server(split_hostport(args.listen)[0], args.metrics_port)
    log.info("serving", extra={"fields": fields})
    try:
        await serve_until_signalled(running.server, running.health, grace=args.grace)
    finally:
        source.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging(args.log_level)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
