"""The seed's gRPC article in the sandbox: deploy/greet applied with kubectl, traffic through the Ingress."""

from __future__ import annotations

import ipaddress

from tests.e2e.conftest import POD_CIDR, SERVICE_CIDR, Cluster

# Bounded request counts: enough that a balancer stuck on one pod cannot pass by chance.
REQUESTS = 12


def greetserver_pod_names(cluster: Cluster) -> set[str]:
    return {p["metadata"]["name"] for p in cluster.pods("default", "run=greetserver")}


def pods_answering(cluster: Cluster, host: str, want: set[str], limit: int = 40) -> set[str]:
    """Pods seen over at most `limit` requests, stopping once every pod in `want` has answered."""
    seen: set[str] = set()
    for _ in range(limit):
        seen.add(cluster.greet(host)["pod"]["name"])
        if seen >= want:
            break
    return seen


def test_three_greetserver_pods_running_with_distinct_ips(greet_system: Cluster) -> None:
    out = greet_system.kubectl("get", "po", "-l", "run=greetserver", "-o", "wide")
    header, *rows = [line.split() for line in out.strip().splitlines()]
    assert header[:6] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]
    assert len(rows) == 3
    assert all(row[1] == "1/1" and row[2] == "Running" for row in rows), out
    ips = [row[5] for row in rows]
    assert len(set(ips)) == 3, out
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network(POD_CIDR) for ip in ips), out


def test_pick_first_answers_from_one_pod_every_time(greet_system: Cluster) -> None:
    pods = {greet_system.greet("pick-first.greet.com")["pod"]["name"] for _ in range(REQUESTS)}
    assert len(pods) == 1, pods
    assert pods <= greetserver_pod_names(greet_system)


def test_round_robin_over_the_headless_service_rotates_over_all_three(greet_system: Cluster) -> None:
    want = greetserver_pod_names(greet_system)
    # The round_robin channel connects its subchannels lazily: the first answers may come from fewer pods.
    assert pods_answering(greet_system, "greet.com", want) == want
    answers = [greet_system.greet("greet.com")["pod"]["name"] for _ in range(REQUESTS)]
    assert set(answers) == want, answers
    # Round robin, not random: every window of three consecutive answers names three different pods.
    assert all(len(set(answers[i : i + 3])) == 3 for i in range(len(answers) - 2)), answers


def test_lookaside_watch_rotates_over_all_three(greet_system: Cluster) -> None:
    want = greetserver_pod_names(greet_system)
    # The lookaside's KubernetesSource lists+watches the sandbox's EndpointSlices through the API server.
    assert pods_answering(greet_system, "lookaside.greet.com", want) == want
    answers = [greet_system.greet("lookaside.greet.com")["pod"]["name"] for _ in range(REQUESTS)]
    assert set(answers) == want, answers


def test_dns_answers_pod_ips_for_the_headless_name_and_the_cluster_ip_otherwise(
    greet_system: Cluster,
) -> None:
    pod_ips = sorted(p["status"]["podIP"] for p in greet_system.pods("default", "run=greetserver"))
    headless = greet_system.dns_a("greetserver-headless.default.svc.cluster.local")
    assert headless == pod_ips
    cluster_ip = greet_system.get_json("svc", "greetserver")["spec"]["clusterIP"]
    assert ipaddress.ip_address(cluster_ip) in ipaddress.ip_network(SERVICE_CIDR)
    assert greet_system.dns_a("greetserver.default.svc.cluster.local") == [cluster_ip]
