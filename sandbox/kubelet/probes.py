"""Container probes (readiness, liveness, startup) with Kubernetes' handlers and thresholds.

Handlers: ``tcpSocket``, ``httpGet`` (2xx/3xx succeed), ``grpc`` (grpc.health.v1 ``SERVING``) and
``exec`` (exit code 0). Failure messages follow the kubelet's wording, which lands in ``Unhealthy``
events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sandbox.kubelet.images import map_paths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeTarget:
    """What a probe needs to know about its container."""

    pod_ip: str
    named_ports: Mapping[str, int]
    env: Mapping[str, str]
    cwd: Path
    mounts: Mapping[str, Path]


def _port(value: Any, target: ProbeTarget) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if value in target.named_ports:
        return int(target.named_ports[value])
    raise ValueError(f"unknown port {value!r}")


async def _tcp(spec: dict[str, Any], target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    host = spec.get("host") or target.pod_ip
    port = _port(spec.get("port"), target)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return False, f"dial tcp {host}:{port}: i/o timeout"
    except OSError as exc:
        return False, f"dial tcp {host}:{port}: connect: {(exc.strerror or str(exc)).lower()}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, ""


async def _http(spec: dict[str, Any], target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    host = spec.get("host") or target.pod_ip
    port = _port(spec.get("port"), target)
    path = spec.get("path") or "/"
    url = f"{(spec.get('scheme') or 'HTTP').lower()}://{host}:{port}{path}"
    headers = "".join(
        f"{h['name']}: {h['value']}\r\n" for h in spec.get("httpHeaders") or [] if h.get("name")
    )
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.32\r\n"
        f"Accept: */*\r\nConnection: close\r\n{headers}\r\n"
    )

    async def call() -> tuple[bool, str]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request.encode())
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
        parts = status_line.decode(errors="replace").split()
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 200 <= code < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {code}"

    try:
        return await asyncio.wait_for(call(), timeout)
    except TimeoutError:
        return (
            False,
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
        )
    except OSError as exc:
        return False, f'Get "{url}": dial tcp {host}:{port}: connect: {(exc.strerror or str(exc)).lower()}'


async def _grpc(spec: dict[str, Any], target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    address = f"{target.pod_ip}:{_port(spec.get('port'), target)}"
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=spec.get("service") or ""), timeout=timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return False, f'timeout: failed to connect service "{address}" within {timeout:g}s'
            return (
                False,
                f"rpc error: code = {exc.code().name.title().replace('_', '')} desc = {exc.details()}",
            )
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        return False, f'service unhealthy (responded with "{name}")'
    return True, ""


async def _exec(spec: dict[str, Any], target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    argv = [map_paths(a, dict(target.mounts)) for a in spec.get("command") or []]
    if not argv:
        return False, "exec probe without a command"
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=target.cwd,
            env=dict(target.env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return False, str(exc)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return False, f"command timed out after {timeout:g}s"
    return proc.returncode == 0, out.decode(errors="replace").strip()


HANDLERS: dict[str, Callable[[dict[str, Any], ProbeTarget, float], Awaitable[tuple[bool, str]]]] = {
    "tcpSocket": _tcp,
    "httpGet": _http,
    "grpc": _grpc,
    "exec": _exec,
}


async def probe_once(probe: dict[str, Any], target: ProbeTarget) -> tuple[bool, str]:
    """One probe attempt: (success, failure message)."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    for key, handler in HANDLERS.items():
        if key in probe:
            try:
                return await handler(probe[key], target, timeout)
            except ValueError as exc:
                return False, str(exc)
    return True, ""  # a probe without a handler is rejected by validation; treat it as passing


class ProbeWorker:
    """Runs one probe of one container instance; reports result transitions and each failure."""

    def __init__(
        self,
        kind: str,
        probe: dict[str, Any],
        target: ProbeTarget,
        *,
        on_result: Callable[[bool, str], Awaitable[None]],
        on_failure: Callable[[str], Awaitable[None]],
    ) -> None:
        self.kind = kind  # "Readiness", "Liveness" or "Startup", as in event messages
        self.probe = probe
        self.target = target
        self.on_result = on_result
        self.on_failure = on_failure
        self.result: bool | None = None

    async def run(self) -> None:
        period = max(float(self.probe.get("periodSeconds") or 10), 0.1)
        success_needed = int(self.probe.get("successThreshold") or 1)
        failures_allowed = int(self.probe.get("failureThreshold") or 3)
        await asyncio.sleep(float(self.probe.get("initialDelaySeconds") or 0))
        successes = failures = 0
        while True:
            ok, message = await probe_once(self.probe, self.target)
            if ok:
                successes, failures = successes + 1, 0
                if successes >= success_needed and self.result is not True:
                    self.result = True
                    await self.on_result(True, "")
                    if self.kind == "Startup":
                        return  # a startup probe stops once it has succeeded
            else:
                successes, failures = 0, failures + 1
                await self.on_failure(message)
                if failures >= failures_allowed and self.result is not False:
                    self.result = False
                    await self.on_result(False, message)
            await asyncio.sleep(period)
