"""The Node object `sandbox`: capacity from this machine, addresses, nodeInfo, and Ready heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, now_rfc3339
from sandbox.hooks import SandboxContext

log = logging.getLogger(__name__)

NODE_NAME = "sandbox"
NODE_IP = "127.0.0.1"
KUBELET_VERSION = "v1.32.0"
RUNTIME_VERSION = "switchyard://0.1"
MAX_PODS = 110
HEARTBEAT_S = 10.0


def memory_kib() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 4 * 1024 * 1024


def os_image() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def machine_resources() -> dict[str, str]:
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory_kib()}Ki",
        "pods": str(MAX_PODS),
        "ephemeral-storage": "0",
    }


def _condition(type_: str, status: str, reason: str, message: str, now: str, since: str) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": now,
        "lastTransitionTime": since,
    }


def node_status(started: str, now: str) -> dict[str, Any]:
    resources = machine_resources()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {
        "capacity": resources,
        "allocatable": dict(resources),
        "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE_NAME}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": _machine_id(),
            "systemUUID": _machine_id(),
            "bootID": "",
            "kernelVersion": platform.release(),
            "osImage": os_image(),
            "containerRuntimeVersion": RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": arch,
        },
        "conditions": [
            _condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
                now,
                started,
            ),
            _condition(
                "DiskPressure",
                "False",
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
                now,
                started,
            ),
            _condition(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
                now,
                started,
            ),
            _condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now, started),
        ],
    }


def _machine_id() -> str:
    try:
        with open("/etc/machine-id") as f:
            return f.read().strip()
    except OSError:
        return ""


class NodeAgent:
    """Registers the node and posts its status every `heartbeat_s` seconds."""

    def __init__(self, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.heartbeat_s = heartbeat_s
        self._store: Store | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = ""
        self._pod_cidr = ""
        self.heartbeats = 0

    async def start(self, ctx: SandboxContext) -> None:
        self._store = ctx.store
        self.heartbeat_s = float(ctx.config.extra.get("node_heartbeat_s", self.heartbeat_s))
        self._started = now_rfc3339()
        self._pod_cidr = ctx.config.pod_cidr
        await self.register()
        self._task = asyncio.get_running_loop().create_task(self._heartbeats(), name="kubelet-node-heartbeat")

    async def register(self) -> None:
        assert self._store is not None
        pod_cidr = self._pod_cidr
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": arch,
                    "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": arch,
                },
            },
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
        }
        try:
            self._store.entry("nodes", None, NODE_NAME)
        except APIError:
            await self._store.create("nodes", node)
        await self.heartbeat()

    async def heartbeat(self) -> None:
        assert self._store is not None
        now = now_rfc3339()
        status = node_status(self._started, now)
        await self._store.update(
            "nodes", {"metadata": {"name": NODE_NAME}, "status": status}, subresource="status"
        )
        self.heartbeats += 1

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.heartbeat()
            except APIError as exc:
                log.warning("node heartbeat failed: %s", exc)
                with contextlib.suppress(APIError):
                    await self.register()  # the Node was deleted: register again, as the kubelet does

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
