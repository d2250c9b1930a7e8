"""Faults: a pod process killed from outside, a Deployment deleted, the sandbox restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MANIFESTS, REPO, Cluster, new_cluster, try_http_get, wait_for

WEB = str(MANIFESTS / "web.yaml")


def container_pid(cluster: Cluster, pod: dict[str, Any], container: str) -> int:
    """The kubelet records each running container's pid under DIR/pods/<uid>/pids/<container>.pid."""
    path = cluster.state_dir / "pods" / pod["metadata"]["uid"] / "pids" / f"{container}.pid"
    return int(path.read_text().split()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def restart_count(pod: dict[str, Any]) -> int:
    return sum(
        int(s.get("restartCount", 0)) for s in (pod.get("status") or {}).get("containerStatuses") or []
    )


def watched_endpoints(lines: str) -> list[dict[str, Any]]:
    """Objects printed by `kubectl get -w -o json` (one JSON document after another)."""
    decoder, objects, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(lines, at)) < len(lines):
        obj, at = decoder.raw_decode(lines, at)
        objects.append(obj)
    return objects


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def ready_ips(endpoints: dict[str, Any]) -> set[str]:
    return {a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []}


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> Iterator[str]:
    ns = "faults"
    cluster.create_namespace(ns)
    cluster.kubectl("apply", "-n", ns, "-f", WEB)
    try:
        yield ns
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_a_killed_pod_process_is_restarted_and_leaves_the_endpoints_while_not_ready(
    cluster: Cluster, web: str
) -> None:
    pods = cluster.ready_pods(web, "app=web", 2)
    wait_for("2 ready endpoints", lambda: len(cluster.endpoint_ips(web, "web")[0]) == 2)
    victim = pods[0]
    name, ip = victim["metadata"]["name"], victim["status"]["podIP"]
    pid = container_pid(cluster, victim, "web")
    assert try_http_get(ip, 80) == name  # the built-in server answers with the pod's name

    env = {**os.environ, "KUBECONFIG": str(cluster.sandbox.kubeconfig), "HOME": str(cluster.state_dir)}
    watcher = subprocess.Popen(
        ["kubectl", "get", "endpoints", "web", "-n", web, "-w", "-o", "json", "--request-timeout=60s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    chunks: list[str] = []
    assert watcher.stdout is not None
    reader = threading.Thread(target=lambda: chunks.extend(iter(watcher.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_for("the watch's first object", lambda: "".join(chunks).strip(), timeout=10)
        os.kill(pid, signal.SIGKILL)

        def restarted() -> dict[str, Any] | None:
            pod = cluster.get_json("pod", name, "-n", web)
            if restart_count(pod) != 1 or not all(c["ready"] for c in pod["status"]["containerStatuses"]):
                return None
            return pod if ip in cluster.endpoint_ips(web, "web")[0] else None

        pod = wait_for("the restart and the pod back in the Endpoints", restarted, timeout=30)
    finally:
        watcher.terminate()
        watcher.wait(10)
        reader.join(10)
    output = "".join(chunks)

    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] is True and "running" in status["state"]
    assert status["lastState"]["terminated"]["exitCode"] == 137  # 128 + SIGKILL
    assert container_pid(cluster, pod, "web") != pid and not alive(pid)
    assert pod["status"]["podIP"] == ip
    history = [ready_ips(ep) for ep in watched_endpoints(output)]
    assert any(ip not in ready for ready in history), history  # dropped while not ready
    assert ip in history[-1]
    wait_for("the restarted pod to answer", lambda: try_http_get(ip, 80) == name, timeout=10)


def test_deleting_a_deployment_removes_its_replicasets_and_pods(cluster: Cluster, web: str) -> None:
    cluster.ready_pods(web, "app=web", 2)
    assert cluster.get_json("rs", "-n", web, "-l", "app=web")["items"]
    cluster.kubectl("delete", "deployment", "web", "-n", web)

    def gone() -> bool:
        return (
            not cluster.get_json("rs", "-n", web, "-l", "app=web")["items"]
            and not cluster.get_json("pods", "-n", web, "-l", "app=web")["items"]
        )

    wait_for("the ReplicaSets and pods to be deleted", gone, timeout=60)
    assert cluster.endpoint_ips(web, "web") == ([], [])


def sandbox_down(cluster: Cluster) -> None:
    """`python -m sandbox down`, while we reap the `up` child (a zombie would look alive to `down`)."""
    down = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "down", "--state-dir", str(cluster.state_dir)], cwd=REPO
    )
    assert cluster.sandbox.process is not None
    assert cluster.sandbox.process.wait(30) == 0
    assert down.wait(30) == 0


def test_restarting_the_sandbox_keeps_every_object_and_brings_pods_back(tmp_path: Path) -> None:
    # A private sandbox on its own ranges: restarting the shared one would disturb the other modules.
    private = new_cluster(tmp_path / "state", pod_cidr="127.63.0.0/16", service_cidr="127.64.0.0/16")
    private.start()
    try:
        private.kubectl("apply", "-f", WEB)
        before = {p["metadata"]["name"]: p for p in private.ready_pods("default", "app=web", 2)}
        objects_before = private.kubectl("get", "deploy,rs,svc,cm,pods", "-o", "name")
        cluster_ip = private.get_json("svc", "web")["spec"]["clusterIP"]
        wait_for("the Service to answer", lambda: try_http_get(cluster_ip, 80) in before, timeout=20)
        pids = [container_pid(private, p, "web") for p in before.values()]

        sandbox_down(private)
        assert not any(alive(pid) for pid in pids), "pod processes outlived `sandbox down`"
        assert try_http_get(cluster_ip, 80) is None

        private.start()
        assert private.kubectl("get", "deploy,rs,svc,cm,pods", "-o", "name") == objects_before
        after = {p["metadata"]["name"]: p for p in private.ready_pods("default", "app=web", 2)}
        assert after.keys() == before.keys()
        assert {n: p["metadata"]["uid"] for n, p in after.items()} == {
            n: p["metadata"]["uid"] for n, p in before.items()
        }
        assert {n: p["status"]["podIP"] for n, p in after.items()} == {
            n: p["status"]["podIP"] for n, p in before.items()
        }
        assert private.get_json("svc", "web")["spec"]["clusterIP"] == cluster_ip
        assert private.get_json("cm", "web-settings")["data"] == {"greeting": "hello"}
        wait_for("the Service to answer again", lambda: try_http_get(cluster_ip, 80) in before, timeout=20)
    finally:
        private.stop()
