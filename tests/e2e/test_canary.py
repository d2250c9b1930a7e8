"""The seed's canary: two Deployments behind one Service; the replica counts set the canary's share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import grpc
import pytest

from greet.gen.greet.v1 import greet_pb2, greet_pb2_grpc
from tests.e2e.conftest import REPO, Cluster, wait_for

NS = "default"  # deploy/canary names its namespace


def versions_behind(cluster: Cluster) -> Counter[str]:
    """Versions of the pods whose IPs are ready addresses of the `greet-canary` Endpoints."""
    ready, _ = cluster.endpoint_ips(NS, "greet-canary")
    by_ip = {
        p["status"].get("podIP"): p["metadata"]["labels"]["version"]
        for p in cluster.pods(NS, "app=greet-canary")
    }
    return Counter(by_ip.get(ip, "?") for ip in ready)


def answers_by_version(cluster_ip: str, count: int) -> Counter[str]:
    """`count` Greet RPCs, each on a new channel, i.e. a new connection and a new kube-proxy pick."""
    seen: Counter[str] = Counter()
    request = greet_pb2.GreetRequest(greeting=greet_pb2.Greeting(first_name="Hitesh", last_name="Pattanayak"))
    for _ in range(count):
        with grpc.insecure_channel(f"{cluster_ip}:50051") as channel:
            reply = greet_pb2_grpc.GreetServiceStub(channel).Greet(request, timeout=3)
            seen[reply.pod.version] += 1
    return seen


def wait_share(cluster: Cluster, want: dict[str, int]) -> None:
    wait_for(f"Endpoints by version {want}", lambda: versions_behind(cluster) == Counter(want), timeout=60)


@pytest.fixture(scope="module")
def canary(cluster: Cluster) -> Iterator[str]:
    cluster.kubectl("apply", "-f", str(REPO / "deploy" / "canary"))
    try:
        cluster.ready_pods(NS, "app=greet-canary,track=stable", 3)
        cluster.ready_pods(NS, "app=greet-canary,track=canary", 1)
        yield str(cluster.get_json("svc", "greet-canary", "-n", NS)["spec"]["clusterIP"])
    finally:
        cluster.kubectl("delete", "-f", str(REPO / "deploy" / "canary"), "--wait=false", check=False)


def test_scaling_the_canary_changes_its_share_behind_the_service(cluster: Cluster, canary: str) -> None:
    wait_share(cluster, {"v1": 3, "v2": 1})
    # 1 of 4 pods: over 40 fresh connections both versions answer (P(no v2) = 0.75**40 < 1e-5).
    first = answers_by_version(canary, 40)
    assert set(first) == {"v1", "v2"}, first

    cluster.kubectl("scale", "deployment", "greet-canary", "--replicas=3", "-n", NS)
    wait_share(cluster, {"v1": 3, "v2": 3})

    cluster.kubectl("scale", "deployment", "greet-canary", "--replicas=0", "-n", NS)
    wait_share(cluster, {"v1": 3})
    assert answers_by_version(canary, 12) == Counter({"v1": 12})

    cluster.kubectl("scale", "deployment", "greet-stable", "--replicas=0", "-n", NS)
    cluster.kubectl("scale", "deployment", "greet-canary", "--replicas=2", "-n", NS)
    wait_share(cluster, {"v2": 2})
    assert answers_by_version(canary, 12) == Counter({"v2": 12})
