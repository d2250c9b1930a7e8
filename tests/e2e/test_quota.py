"""The seed's resource-quota article (seed 04) replayed with kubectl on deploy/quota (the seed's files)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import REPO, Cluster, wait_for

QUOTA = REPO / "deploy" / "quota"
NS = "mynamespace"
MUST_SPECIFY = re.compile(
    r'Warning\s+FailedCreate\s+.*replicaset-controller\s+Error creating: pods "nginx-deployment-[a-z0-9]+-[a-z0-9]{5}" '
    r"is forbidden: failed quota: user-compute-quota: must specify limits\.cpu for: k8s-demo; limits\.memory for: "
    r"k8s-demo; requests\.cpu for: k8s-demo; requests\.memory for: k8s-demo$",
    re.M,
)
EXCEEDED = re.compile(
    r'Warning\s+FailedCreate\s+.*replicaset-controller\s+Error creating: pods "helloworld-deployment-[a-z0-9]+-[a-z0-9]{5}" '
    r"is forbidden: exceeded quota: user-compute-quota, requested: limits\.memory=1Gi,requests\.memory=512Mi, "
    r"used: limits\.memory=2Gi,requests\.memory=1Gi, limited: limits\.memory=2Gi,requests\.memory=1Gi$",
    re.M,
)
CREATED = re.compile(
    r"Normal\s+SuccessfulCreate\s+.*replicaset-controller\s+Created pod: helloworld-deployment-", re.M
)


def quota_table(cluster: Cluster, name: str) -> dict[str, tuple[str, str]]:
    """`kubectl describe quota` as {resource: (used, hard)}."""
    out = cluster.kubectl("describe", "quota", name, "-n", NS)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("--------")) + 1
    rows = [line.split() for line in lines[start:] if line.strip()]
    return {row[0]: (row[1], row[2]) for row in rows}


def deploy_row(cluster: Cluster, name: str) -> list[str]:
    out = cluster.kubectl("get", "deploy", name, "-n", NS)
    return out.splitlines()[1].split()[:4]


def replicaset_of(cluster: Cluster, deployment: str) -> str:
    def probe() -> str | None:
        for rs in cluster.get_json("rs", "-n", NS)["items"]:
            if rs["metadata"]["name"].startswith(deployment + "-"):
                return str(rs["metadata"]["name"])
        return None

    return wait_for(f"the ReplicaSet of {deployment}", probe, timeout=20)


def described_with(cluster: Cluster, rs: str, pattern: re.Pattern[str]) -> str:
    """`kubectl describe rs`, once its events show `pattern`."""

    def probe() -> str | None:
        out = cluster.kubectl("describe", "rs", rs, "-n", NS)
        return out if pattern.search(out) else None

    return wait_for(f"an event matching {pattern.pattern[:60]}… on {rs}", probe, timeout=20)


@pytest.fixture(scope="module")
def quota_ns(cluster: Cluster) -> Iterator[Cluster]:
    yield cluster
    cluster.kubectl("delete", "namespace", NS, "--wait=false", "--ignore-not-found", check=False)


def test_the_resource_quota_article(quota_ns: Cluster) -> None:
    cluster = quota_ns
    cluster.kubectl("apply", "-f", str(QUOTA / "resource_quota.yaml"))

    def quotas() -> str | None:
        out = cluster.kubectl("get", "quota", "-n", NS)
        return out if "0/1Gi" in out and "configmaps: 1/10" in out else None

    out = wait_for("the quotas' status", quotas, timeout=20)
    rows = {line.split()[0]: line.rstrip() for line in out.splitlines()[1:]}
    assert re.search(
        r"requests\.cpu: 0/1, requests\.memory: 0/1Gi\s+limits\.cpu: 0/2, limits\.memory: 0/2Gi$",
        rows["user-compute-quota"],
    )
    assert rows["user-object-quota"].endswith(
        "configmaps: 1/10, persistentvolumeclaims: 0/4, replicationcontrollers: 0/20, secrets: 0/10, "
        "services: 0/10, services.loadbalancers: 0/2"
    ), out

    # No requests/limits: every pod is refused, 0/3, FailedCreate "must specify" events.
    cluster.kubectl("create", "-f", str(QUOTA / "dep_without_quota.yaml"))
    nginx_rs = replicaset_of(cluster, "nginx-deployment")
    described = described_with(cluster, nginx_rs, MUST_SPECIFY)
    assert "SuccessfulCreate" not in described
    assert deploy_row(cluster, "nginx-deployment") == ["nginx-deployment", "0/3", "0", "0"]

    # 512Mi/1Gi per pod: two fit the 1Gi/2Gi quota, the third is refused with "exceeded quota".
    cluster.kubectl("create", "-f", str(QUOTA / "dep_with_quota.yaml"))
    hello_rs = replicaset_of(cluster, "helloworld-deployment")
    cluster.ready_pods(NS, "app=nginx-ssl", 2)
    described = described_with(cluster, hello_rs, EXCEEDED)
    assert len(CREATED.findall(described)) == 2, described
    rs_row = cluster.kubectl("get", "rs", hello_rs, "-n", NS).splitlines()[1].split()
    assert rs_row[:4] == [hello_rs, "3", "2", "2"]
    assert quota_table(cluster, "user-compute-quota") == {
        "limits.cpu": ("800m", "2"),
        "limits.memory": ("2Gi", "2Gi"),
        "requests.cpu": ("400m", "1"),
        "requests.memory": ("1Gi", "1Gi"),
    }

    # The seed's final state counts only the nginx pods: both Deployments were removed before the retry.
    cluster.kubectl("delete", "deploy", "nginx-deployment", "helloworld-deployment", "-n", NS)
    wait_for("the pods to go", lambda: not cluster.pods(NS, "app in (nginx, nginx-ssl)"), timeout=60)
    cluster.kubectl("create", "-f", str(QUOTA / "limit_range.yaml"))
    cluster.kubectl("create", "-f", str(QUOTA / "dep_without_quota.yaml"))
    cluster.ready_pods(NS, "app=nginx", 3)
    wait_for("nginx-deployment 3/3", lambda: deploy_row(cluster, "nginx-deployment")[1] == "3/3", timeout=20)
    want = {
        "limits.cpu": ("600m", "2"),
        "limits.memory": ("1536Mi", "2Gi"),
        "requests.cpu": ("300m", "1"),
        "requests.memory": ("768Mi", "1Gi"),
    }
    wait_for(
        "the quota's used column", lambda: quota_table(cluster, "user-compute-quota") == want, timeout=20
    )
