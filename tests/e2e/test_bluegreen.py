"""The seed's blue/green article with its own nginx manifests (tests/e2e/manifests/, verbatim from seed 02)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import MANIFESTS, REPO, Cluster, try_http_get, wait_for

BG_DEPLOY = REPO / "scripts" / "seed" / "bg-deploy.sh"


def fresh_answers(cluster_ip: str, count: int) -> list[str | None]:
    """`count` HTTP GETs through the ClusterIP, each on a new connection (the seed's `wget -qO- nginx`)."""
    return [try_http_get(cluster_ip, 80) for _ in range(count)]


def deploy_blue(cluster: Cluster, namespace: str) -> str:
    cluster.create_namespace(namespace)
    cluster.kubectl("create", "-n", namespace, "-f", str(MANIFESTS / "blue-deploy.yaml"))
    cluster.kubectl("create", "-n", namespace, "-f", str(MANIFESTS / "blue-green-svc.yaml"))
    cluster.ready_pods(namespace, "app=blue", 3)
    cluster_ip: str = cluster.get_json("svc", "nginx", "-n", namespace)["spec"]["clusterIP"]
    wait_for("3 ready blue endpoints", lambda: len(cluster.endpoint_ips(namespace, "nginx")[0]) == 3)
    return cluster_ip


@pytest.fixture(scope="module")
def bluegreen(cluster: Cluster) -> Iterator[Cluster]:
    yield cluster
    for ns in ("bluegreen", "bg-script"):
        cluster.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


def test_patching_the_selector_moves_new_connections_from_blue_to_green(bluegreen: Cluster) -> None:
    ns = "bluegreen"
    cluster_ip = deploy_blue(bluegreen, ns)
    assert fresh_answers(cluster_ip, 6) == ["blue"] * 6

    bluegreen.kubectl("create", "-n", ns, "-f", str(MANIFESTS / "green-deploy.yaml"))
    green = bluegreen.ready_pods(ns, "app=green", 3)
    assert fresh_answers(cluster_ip, 6) == ["blue"] * 6  # green runs but is not selected yet
    deployments = bluegreen.kubectl("get", "deployments", "-n", ns)
    assert [line.split()[:2] for line in deployments.splitlines()[1:]] == [
        ["blue-1.10", "3/3"],
        ["green-1.10", "3/3"],
    ]

    bluegreen.kubectl("patch", "svc", "nginx", "-n", ns, "-p", '{"spec":{"selector":{"app":"green"}}}')
    green_ips = sorted(p["status"]["podIP"] for p in green)
    wait_for(
        "the Endpoints to list the green pods", lambda: bluegreen.endpoint_ips(ns, "nginx")[0] == green_ips
    )
    wait_for("a green answer", lambda: try_http_get(cluster_ip, 80) == "green", timeout=10)
    assert fresh_answers(cluster_ip, 6) == ["green"] * 6


def test_the_seeds_bg_deploy_script_runs_unchanged(bluegreen: Cluster, tmp_path: Path) -> None:
    assert shutil.which("jq"), "bg-deploy.sh needs jq (apt-get install jq)"
    ns = "bg-script"
    cluster_ip = deploy_blue(bluegreen, ns)
    assert try_http_get(cluster_ip, 80) == "blue"

    # The script names no namespace: give it a kubeconfig whose context defaults to ours.
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(bluegreen.sandbox.kubeconfig, kubeconfig)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}
    subprocess.run(
        ["kubectl", "config", "set-context", "--current", f"--namespace={ns}"], env=env, check=True
    )
    done = subprocess.run(
        ["bash", str(BG_DEPLOY), "nginx", "blue-1.10", str(MANIFESTS / "green-deploy.yaml"), "green-1.10"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        "deployment.apps/green-1.10 created",
        "service/nginx patched",
        'deployment.apps "blue-1.10" deleted',
        "Done.",
    ], done.stdout + done.stderr

    selector = bluegreen.get_json("svc", "nginx", "-n", ns)["spec"]["selector"]
    assert selector == {"name": "nginx", "app": "green"}
    bluegreen.ready_pods(ns, "app=green", 3)
    wait_for("the blue pods to go", lambda: not bluegreen.pods(ns, "app=blue"), timeout=60)
    wait_for("a green answer", lambda: try_http_get(cluster_ip, 80) == "green", timeout=10)
    assert fresh_answers(cluster_ip, 6) == ["green"] * 6
