"""The kubelet with real processes: pods from the store become local processes on loopback IPs."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import random
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc.aio
import pytest

from greet.gen.greet.v1 import greet_pb2, greet_pb2_grpc
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store
from sandbox.hooks import Component, SandboxConfig, SandboxContext, pod_log_path
from sandbox.kubelet import kubelet_components
from sandbox.kubelet.runtime import Kubelet

Obj = dict[str, Any]


@dataclass
class Cluster:
    store: Store
    ctx: SandboxContext
    components: list[Component]

    @property
    def kubelet(self) -> Kubelet:
        found = [c for c in self.components if isinstance(c, Kubelet)]
        return found[0]


async def start_components(store: Store, state_dir: Path, cidr: str) -> Cluster:
    config = SandboxConfig(state_dir=state_dir, pod_cidr=cidr, extra={"crashloop_base_s": 0.5})
    ctx = SandboxContext(config=config, store=store)
    components = kubelet_components(ctx)
    for component in components:
        await component.start(ctx)
    return Cluster(store, ctx, components)


async def stop_components(cluster: Cluster) -> None:
    for component in reversed(cluster.components):
        await component.stop()
    cluster.kubelet.kill_stale_processes()  # belt and braces: nothing may outlive a test


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    # A /24 of our own so concurrent test runs do not hand out the same pod IPs.
    store = Store.open(tmp_path)
    running = await start_components(store, tmp_path, f"127.1.{random.randint(100, 250)}.0/24")
    try:
        yield running
    finally:
        await stop_components(running)
        store.close()


def pod(name: str, containers: list[Obj], **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name, "version": "v7"}},
        "spec": {"containers": containers, **spec},
    }


def web(port: int, **extra: Any) -> Obj:
    return {
        "name": "nginx",
        "image": "nginx:1.25",
        "ports": [{"name": "http", "containerPort": port}],
        **extra,
    }


def shell(name: str, script: str, **extra: Any) -> Obj:
    return {"name": name, "image": "busybox:1.28", "command": ["/bin/sh", "-c", script], **extra}


async def until(
    store: Store, name: str, check: Callable[[Obj], bool], what: str, timeout: float = 15.0
) -> Obj:
    for _ in range(int(timeout / 0.05)):
        try:
            obj = store.entry("pods", "default", name).obj
        except APIError:
            obj = {}
        if obj and check(obj):
            return obj
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {obj.get('status')}")


def condition(obj: Obj, type_: str) -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return str(c.get("status"))
    return None


def is_ready(obj: Obj) -> bool:
    return condition(obj, "Ready") == "True"


def container_status(obj: Obj, index: int = 0) -> Obj:
    statuses = (obj.get("status") or {}).get("containerStatuses") or [{}]
    return dict(statuses[index])


async def http_get(ip: str, port: int, path: str = "/") -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{ip}:{port}{path}", timeout=aiohttp.ClientTimeout(total=5)) as r,
    ):
        return r.status, await r.text()


async def http_get_eventually(ip: str, port: int) -> tuple[int, str]:
    """For a process that runs but is not known to listen yet (not Ready by design)."""
    for _ in range(100):
        try:
            return await http_get(ip, port)
        except aiohttp.ClientConnectorError:
            await asyncio.sleep(0.05)
    return await http_get(ip, port)


def reasons(store: Store, name: str) -> list[str]:
    return [
        e.obj["reason"] for e in store.entries("events", "default") if e.obj["involvedObject"]["name"] == name
    ]


def port() -> int:
    return random.randint(20000, 29999)


async def test_generic_pod_runs_ready_with_an_ip_and_answers_its_name(cluster: Cluster) -> None:
    store = cluster.store
    p = port()
    await store.create("pods", pod("web-1", [web(p)]))
    obj = await until(store, "web-1", is_ready, "Ready")
    status = obj["status"]
    ip = status["podIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(cluster.ctx.config.pod_cidr)
    assert status["phase"] == "Running" and status["podIPs"] == [{"ip": ip}]
    assert status["hostIP"] == "127.0.0.1" and status["qosClass"] == "BestEffort" and status["startTime"]
    assert obj["spec"]["nodeName"] == "sandbox"
    assert [c["type"] for c in status["conditions"]][-1] == "PodScheduled"
    cs = container_status(obj)
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0 and "running" in cs["state"]
    assert await http_get(ip, p) == (200, "web-1\n")
    node = store.entry("nodes", None, "sandbox").obj
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0"
    assert node["status"]["capacity"]["pods"] == "110"
    for expected in ("Scheduled", "Pulled", "Created", "Started"):
        assert expected in reasons(store, "web-1")


async def test_blue_green_pod_serves_what_its_init_container_wrote(cluster: Cluster) -> None:
    store = cluster.store
    p = port()
    # The seed's blue pod template (02-blue-green-deployment.md), on a free port.
    manifest = pod(
        "blue-1",
        [
            web(
                p,
                image="nginx:1.10",
                volumeMounts=[{"name": "workdir", "mountPath": "/usr/share/nginx/html"}],
            )
        ],
        initContainers=[
            shell(
                "install",
                "echo blue > /work-dir/index.html",
                volumeMounts=[{"name": "workdir", "mountPath": "/work-dir"}],
            )
        ],
        volumes=[{"name": "workdir", "emptyDir": {}}],
    )
    await store.create("pods", manifest)
    obj = await until(store, "blue-1", is_ready, "Ready")
    init = obj["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["ready"]
    assert condition(obj, "Initialized") == "True"
    assert await http_get(obj["status"]["podIP"], p) == (200, "blue\n")


async def test_greet_server_pod_answers_greet_with_its_name_and_ip(cluster: Cluster) -> None:
    store = cluster.store
    container = {
        "name": "greetserver",
        "image": "switchyard/greet:0.1",
        "args": ["server", "--listen", "0.0.0.0:50051", "--no-rpc-log"],
        "ports": [{"name": "grpc", "containerPort": 50051}],
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_VERSION", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['version']"}}},
        ],
        "readinessProbe": {"grpc": {"port": 50051}, "periodSeconds": 1},
    }
    await store.create("pods", pod("greetserver-1", [container]))
    obj = await until(store, "greetserver-1", is_ready, "Ready", timeout=30)
    ip = obj["status"]["podIP"]
    async with grpc.aio.insecure_channel(f"{ip}:50051") as channel:
        stub = greet_pb2_grpc.GreetServiceStub(channel)
        greeting = greet_pb2.Greeting(first_name="Hitesh", last_name="Pattanayak")
        response = await stub.Greet(greet_pb2.GreetRequest(greeting=greeting), timeout=5)
    assert (response.pod.name, response.pod.ip, response.pod.version) == ("greetserver-1", ip, "v7")


async def test_env_from_fields_configmaps_and_secrets_reaches_the_process_and_its_log(
    cluster: Cluster,
) -> None:
    store = cluster.store
    await store.create(
        "configmaps", {"metadata": {"name": "settings", "namespace": "default"}, "data": {"mode": "fast"}}
    )
    secret = base64.b64encode(b"s3cret").decode()
    await store.create(
        "secrets", {"metadata": {"name": "creds", "namespace": "default"}, "data": {"token": secret}}
    )
    container = shell(
        "echo",
        'echo "mode=$MODE token=$TOKEN ns=$NS greeting=$(GREETING) extra=$EXTRA_mode"',
        env=[
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "GREETING", "value": "hi-$(MODE)"},
        ],
        envFrom=[{"prefix": "EXTRA_", "configMapRef": {"name": "settings"}}],
    )
    await store.create("pods", pod("env-1", [container], restartPolicy="Never"))
    obj = await until(store, "env-1", lambda o: o["status"].get("phase") == "Succeeded", "Succeeded")
    assert container_status(obj)["state"]["terminated"]["reason"] == "Completed"
    assert condition(obj, "Ready") == "False"
    text = pod_log_path(cluster.ctx.config.state_dir, "default", "env-1", "echo").read_text()
    stamp, _, line = text.strip().partition(" ")
    assert line == "mode=fast token=s3cret ns=default greeting=hi-fast extra=fast"
    assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 10  # nanoseconds + Z


async def test_process_killed_from_outside_is_restarted(cluster: Cluster) -> None:
    store = cluster.store
    p = port()
    await store.create("pods", pod("web-kill", [web(p)]))
    obj = await until(store, "web-kill", is_ready, "Ready")
    worker = next(w for w in cluster.kubelet.workers.values() if w.name == "web-kill")
    proc = worker.mains[0].proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    obj = await until(
        store, "web-kill", lambda o: container_status(o).get("restartCount") == 1 and is_ready(o), "restart"
    )
    last = container_status(obj)["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "Error")
    assert await http_get(obj["status"]["podIP"], p) == (200, "web-kill\n")


async def test_container_failing_repeatedly_goes_into_crash_loop_back_off(cluster: Cluster) -> None:
    store = cluster.store
    await store.create("pods", pod("crasher", [shell("crash", "echo boom; exit 3")]))

    def backing_off(o: Obj) -> bool:
        cs = container_status(o)
        waiting = (cs.get("state") or {}).get("waiting") or {}
        return waiting.get("reason") == "CrashLoopBackOff" and int(cs["restartCount"]) >= 1

    obj = await until(store, "crasher", backing_off, "CrashLoopBackOff")
    cs = container_status(obj)
    assert (
        cs["lastState"]["terminated"]["exitCode"] == 3 and cs["lastState"]["terminated"]["reason"] == "Error"
    )
    assert obj["status"]["phase"] == "Running" and not is_ready(obj)
    assert "BackOff" in reasons(store, "crasher")
    previous = pod_log_path(cluster.ctx.config.state_dir, "default", "crasher", "crash", previous=True)
    assert previous.read_text().endswith(" boom\n")


async def test_failing_readiness_probe_keeps_the_pod_unready(cluster: Cluster) -> None:
    store = cluster.store
    p = port()
    probe = {"tcpSocket": {"port": p + 1}, "periodSeconds": 1, "failureThreshold": 1}
    await store.create("pods", pod("unready", [web(p, readinessProbe=probe)]))
    obj = await until(store, "unready", lambda o: "Unhealthy" in reasons(store, "unready"), "Unhealthy event")
    assert obj["status"]["phase"] == "Running" and condition(obj, "Ready") == "False"
    assert container_status(obj)["ready"] is False
    assert await http_get_eventually(obj["status"]["podIP"], p) == (
        200,
        "unready\n",
    )  # running, just not ready


async def test_liveness_failure_restarts_the_container(cluster: Cluster) -> None:
    store = cluster.store
    p = port()
    probe = {"httpGet": {"port": p + 1, "path": "/healthz"}, "periodSeconds": 1, "failureThreshold": 1}
    await store.create("pods", pod("unlive", [web(p, livenessProbe=probe)], terminationGracePeriodSeconds=1))
    await until(store, "unlive", lambda o: container_status(o).get("restartCount", 0) >= 1, "a restart")
    assert {"Unhealthy", "Killing"} <= set(reasons(store, "unlive"))


async def test_deletion_sends_sigterm_then_removes_the_pod(cluster: Cluster) -> None:
    store = cluster.store
    script = 'trap "echo got TERM; exit 0" TERM; echo up; while true; do sleep 0.1; done'
    await store.create("pods", pod("graceful", [shell("loop", script)]))
    obj = await until(store, "graceful", lambda o: container_status(o).get("started") is True, "started")
    ip = obj["status"]["podIP"]
    worker = next(w for w in cluster.kubelet.workers.values() if w.name == "graceful")
    proc = worker.mains[0].proc
    assert proc is not None
    await store.delete("pods", "default", "graceful")
    assert store.entry("pods", "default", "graceful").obj["metadata"]["deletionTimestamp"]
    for _ in range(200):
        try:
            store.entry("pods", "default", "graceful")
        except APIError:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("pod not removed after SIGTERM")
    assert proc.returncode == 0
    text = pod_log_path(cluster.ctx.config.state_dir, "default", "graceful", "loop").read_text()
    lines = [line.split(" ", 1)[1] for line in text.splitlines()]
    assert lines[0] == "up" and lines[-1] == "got TERM"  # the whole group got SIGTERM (sleep too)
    assert "Killing" in reasons(store, "graceful")
    for _ in range(40):
        if not cluster.kubelet.pool.is_allocated(ip):
            break
        await asyncio.sleep(0.05)
    assert not cluster.kubelet.pool.is_allocated(ip)


async def test_restarted_kubelet_adopts_pods_with_their_ips(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    cidr = f"127.1.{random.randint(100, 250)}.0/24"
    first = await start_components(store, tmp_path, cidr)
    p = port()
    try:
        for name in ("keep-a", "keep-b"):
            await store.create("pods", pod(name, [web(p)]))
        ips = {}
        for name in ("keep-a", "keep-b"):
            ips[name] = (await until(store, name, is_ready, "Ready"))["status"]["podIP"]
        pids = [w.mains[0].proc.pid for w in first.kubelet.workers.values() if w.mains[0].proc]
    finally:
        await stop_components(first)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    second = await start_components(store, tmp_path, cidr)
    try:
        for name, ip in ips.items():
            obj = await until(
                store, name, lambda o: is_ready(o) and container_status(o)["restartCount"] == 1, "re-adopted"
            )
            assert obj["status"]["podIP"] == ip
            assert await http_get(ip, p) == (200, f"{name}\n")
    finally:
        await stop_components(second)
        store.close()
