"""What every greet gRPC server shares: options, health, reflection, and graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio  # grpc-stubs lacks the asyncio servicer
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from greet.telemetry import TelemetryInterceptor

log = logging.getLogger("greet.serving")


def split_hostport(address: str, default_port: int | None = None) -> tuple[str, int]:
    """``"127.0.0.2:50051"`` -> ``("127.0.0.2", 50051)``; ``"[::1]:80"`` keeps the brackets off."""
    host, sep, port = address.rpartition(":")
    if not sep or "]" in port:
        if default_port is None:
            raise ValueError(f"address {address!r} has no port")
        host, port = address, str(default_port)
    host = host.removeprefix("[").removesuffix("]")
    return host, int(port)


def join_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def server_options(max_connection_age: float | None) -> list[tuple[str, Any]]:
    # grpcio enables SO_REUSEPORT by default; a stray second server would then silently share the port.
    options: list[tuple[str, Any]] = [("grpc.so_reuseport", 0)]
    if max_connection_age:
        # Closing connections periodically makes DNS-based clients re-resolve and see new pods.
        options += [
            ("grpc.max_connection_age_ms", int(max_connection_age * 1000)),
            ("grpc.max_connection_age_grace_ms", 5000),
        ]
    return options


def new_server(*, pod: str, max_connection_age: float | None, log_rpcs: bool = True) -> grpc.aio.Server:
    return grpc.aio.server(
        interceptors=[TelemetryInterceptor(pod=pod, log_rpcs=log_rpcs)],
        options=server_options(max_connection_age),
    )


async def add_health_and_reflection(
    server: grpc.aio.Server, service_names: Sequence[str]
) -> health_aio.HealthServicer:
    """Register grpc.health.v1 (SERVING for "" and each service) and reflection for all of them."""
    servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in ("", *service_names):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return servicer


def bind(server: grpc.aio.Server, listen: str) -> int:
    port = server.add_insecure_port(listen)
    if port == 0:
        raise OSError(f"could not bind {listen}")
    return port


async def serve_until_signalled(
    server: grpc.aio.Server,
    health_servicer: health_aio.HealthServicer,
    *,
    grace: float,
    drain_delay: float = 0.0,
    signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> None:
    """Run until SIGTERM/SIGINT; then report NOT_SERVING, wait ``drain_delay``, and stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # NOT_SERVING first, so health watchers and load balancers move away before connections close.
    await health_servicer.enter_graceful_shutdown()
    log.info("draining", extra={"fields": {"grace_s": grace, "drain_delay_s": drain_delay}})
    if drain_delay:
        await asyncio.sleep(drain_delay)
    await server.stop(grace)
    log.info("stopped")
