"""The Greet server: ``python -m greet.server --listen HOST:PORT [--metrics-port N] [--max-connection-age S]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio  # grpc-stubs lacks the asyncio servicer

from greet.gen.greet.v1 import greet_pb2, greet_pb2_grpc
from greet.serving import (
    add_health_and_reflection,
    bind,
    new_server,
    serve_until_signalled,
    split_hostport,
)
from greet.telemetry import configure_logging, start_metrics_server

log = logging.getLogger("greet.server")

SERVICE_NAME = greet_pb2.DESCRIPTOR.services_by_name["GreetService"].full_name
MAX_NAME_LENGTH = 256
MAX_TIMES = 1000
DEFAULT_TIMES = 5


@dataclass(frozen=True)
class PodIdentity:
    name: str
    ip: str
    version: str

    @classmethod
    def from_env(cls, listen_host: str, env: Mapping[str, str] = os.environ) -> PodIdentity:
        ip = env.get("POD_IP") or listen_host
        if ip in ("", "0.0.0.0", "::", "[::]"):
            ip = _host_ip()
        return cls(
            name=env.get("POD_NAME") or socket.gethostname(),
            ip=ip,
            version=env.get("POD_VERSION") or "unknown",
        )

    def as_proto(self) -> greet_pb2.Pod:
        return greet_pb2.Pod(name=self.name, ip=self.ip, version=self.version)


def _host_ip() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def result_line(rpc: str, names: str, pod: PodIdentity) -> str:
    # The seed's wording, typo included: clients parse this line.
    return f"reponse from {rpc} rpc: Hello, {names} from pod: name({pod.name}), ip({pod.ip})."


class InvalidArgument(ValueError):
    pass


def _full_name(greeting: greet_pb2.Greeting, field: str = "greeting") -> str:
    if not greeting.first_name:
        raise InvalidArgument(f"{field}.first_name must not be empty")
    for name in ("first_name", "last_name"):
        if len(getattr(greeting, name)) > MAX_NAME_LENGTH:
            raise InvalidArgument(f"{field}.{name} is longer than {MAX_NAME_LENGTH} characters")
    return f"{greeting.first_name} {greeting.last_name}".rstrip()


class GreetService(greet_pb2_grpc.GreetServiceServicer):  # type: ignore[misc]  # generated, unchecked
    def __init__(self, pod: PodIdentity) -> None:
        self._pod = pod
        self._pod_proto = pod.as_proto()

    async def _invalid(self, context: grpc.aio.ServicerContext[Any, Any], error: InvalidArgument) -> None:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))

    async def Greet(
        self, request: greet_pb2.GreetRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> greet_pb2.GreetResponse:
        try:
            names = _full_name(request.greeting)
        except InvalidArgument as error:
            await self._invalid(context, error)
            raise
        return greet_pb2.GreetResponse(
            greeting=f"Hello, {names}",
            pod=self._pod_proto,
            result=result_line("Greet", names, self._pod),
        )

    async def GreetManyTimes(
        self, request: greet_pb2.GreetManyTimesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[greet_pb2.GreetManyTimesResponse]:
        try:
            names = _full_name(request.greeting)
            if request.times > MAX_TIMES:
                raise InvalidArgument(f"times must be at most {MAX_TIMES}")
        except InvalidArgument as error:
            await self._invalid(context, error)
            raise
        for index in range(request.times or DEFAULT_TIMES):
            yield greet_pb2.GreetManyTimesResponse(
                greeting=f"Hello, {names}",
                pod=self._pod_proto,
                result=result_line("GreetManyTimes", names, self._pod),
                index=index,
            )

    async def LongGreet(
        self,
        request_iterator: AsyncIterator[greet_pb2.LongGreetRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> greet_pb2.LongGreetResponse:
        everyone: list[str] = []
        try:
            async for request in request_iterator:
                everyone.append(_full_name(request.greeting))
        except InvalidArgument as error:
            await self._invalid(context, error)
            raise
        names = ", ".join(everyone)
        return greet_pb2.LongGreetResponse(
            greeting=f"Hello, {names}",
            pod=self._pod_proto,
            result=result_line("LongGreet", names, self._pod),
            count=len(everyone),
        )

    async def GreetEveryone(
        self,
        request_iterator: AsyncIterator[greet_pb2.GreetEveryoneRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[greet_pb2.GreetEveryoneResponse]:
        async for request in request_iterator:
            try:
                names = _full_name(request.greeting)
            except InvalidArgument as error:
                await self._invalid(context, error)
                raise
            yield greet_pb2.GreetEveryoneResponse(
                greeting=f"Hello, {names}",
                pod=self._pod_proto,
                result=result_line("GreetEveryone", names, self._pod),
            )


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    health: health_aio.HealthServicer
    pod: PodIdentity


async def create_server(
    listen: str,
    *,
    pod: PodIdentity | None = None,
    max_connection_age: float | None = None,
    log_rpcs: bool = True,
) -> RunningServer:
    """Build, bind and start a Greet server; ``listen`` may use port 0 (see ``.port``)."""
    host, _ = split_hostport(listen)
    pod = pod or PodIdentity.from_env(host)
    server = new_server(pod=pod.name, max_connection_age=max_connection_age, log_rpcs=log_rpcs)
    greet_pb2_grpc.add_GreetServiceServicer_to_server(GreetService(pod), server)
    health_servicer = await add_health_and_reflection(server, [SERVICE_NAME])
    port = bind(server, listen)
    await server.start()
    return RunningServer(server=server, port=port, health=health_servicer, pod=pod)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m greet.server", description="The greet.v1 gRPC server.")
    parser.add_argument("--listen", default=os.environ.get("GREET_LISTEN", "0.0.0.0:50051"))
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="Prometheus /metrics port (off if unset)"
    )
    parser.add_argument("--max-connection-age", type=float, default=None, metavar="S")
    parser.add_argument("--grace", type=float, default=5.0, metavar="S", help="graceful stop period")
    parser.add_argument(
        "--drain-delay", type=float, default=0.0, metavar="S", help="stay up NOT_SERVING this long first"
    )
    parser.add_argument("--no-rpc-log", action="store_true", help="do not log one line per RPC")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    running = await create_server(
        args.listen, max_connection_age=args.max_connection_age, log_rpcs=not args.no_rpc_log
    )
    host, _ = split_hostport(args.listen)
    fields: dict[str, Any] = {"listen": args.listen, "port": running.port, "pod": running.pod.name}
    if args.metrics_port is not None:
        fields["metrics_port"] = start_metrics_server(host, args.metrics_port)
    log.info("serving", extra={"fields": fields})
    await serve_until_signalled(
        running.server, running.health, grace=args.grace, drain_delay=args.drain_delay
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging(args.log_level)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
