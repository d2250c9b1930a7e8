"""ResourceQuota and LimitRanger admission in-process, replaying the seed's resource-quota article
(deploy/quota/ holds its manifests verbatim)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.admission.quota import register_admission
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store
from sandbox.controllers.quota_status import QuotaStatusController
from sandbox.hooks import SandboxConfig, SandboxContext

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "quota"
NS = "mynamespace"

MUST_SPECIFY = (
    "failed quota: user-compute-quota: must specify limits.cpu for: k8s-demo; limits.memory for: k8s-demo; "
    "requests.cpu for: k8s-demo; requests.memory for: k8s-demo"
)
EXCEEDED = (
    "exceeded quota: user-compute-quota, requested: limits.memory=1Gi,requests.memory=512Mi, "
    "used: limits.memory=2Gi,requests.memory=1Gi, limited: limits.memory=2Gi,requests.memory=1Gi"
)


def manifests(name: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]
    out: list[dict[str, Any]] = []
    for d in docs:
        out.extend(d["items"] if d.get("kind") == "List" else [d])
    return out


def pod_from(deployment_file: str, name: str) -> dict[str, Any]:
    [deploy] = manifests(deployment_file)
    template = copy.deepcopy(deploy["spec"]["template"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    }


def pod(name: str, resources: dict[str, Any] | None = None, ns: str = NS, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "nginx"}
    if resources is not None:
        container["resources"] = resources
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [container], **spec},
    }


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store.open(tmp_path, service_cidr="127.2.250.0/24")
    register_admission(s)
    try:
        yield s
    finally:
        s.close()


async def forbidden(coro: Any) -> APIError:
    with pytest.raises(APIError) as info:
        await coro
    assert info.value.code == 403, info.value.message
    assert info.value.reason == "Forbidden"
    return info.value


async def apply_seed_quota(store: Store) -> None:
    for obj in manifests("resource_quota.yaml"):
        resource = "namespaces" if obj["kind"] == "Namespace" else "resourcequotas"
        await store.create(resource, obj)


async def test_seed_article_replayed(store: Store, tmp_path: Path) -> None:
    await apply_seed_quota(store)
    ctx = SandboxContext(config=SandboxConfig(state_dir=tmp_path), store=store)
    controller = QuotaStatusController()
    await controller.start(ctx)
    try:
        # 0/3: nginx-deployment's pods state no resources.
        err = await forbidden(store.create("pods", pod_from("dep_without_quota.yaml", "nginx-deployment-x")))
        assert err.message == f'pods "nginx-deployment-x" is forbidden: {MUST_SPECIFY}'
        assert err.status()["details"] == {"name": "nginx-deployment-x", "kind": "pods"}

        # 2/3: helloworld's 512Mi/1Gi pods fill the memory quota after two.
        for i in range(2):
            await store.create("pods", pod_from("dep_with_quota.yaml", f"helloworld-{i}"))
        err = await forbidden(store.create("pods", pod_from("dep_with_quota.yaml", "helloworld-2")))
        assert err.message == f'pods "helloworld-2" is forbidden: {EXCEEDED}'
        await controller.wait_synced()
        compute = await store.get("resourcequotas", NS, "user-compute-quota")
        assert compute["status"]["used"] == {
            "limits.cpu": "800m",
            "limits.memory": "2Gi",
            "requests.cpu": "400m",
            "requests.memory": "1Gi",
        }
        assert compute["status"]["hard"] == {
            "limits.cpu": "2",
            "limits.memory": "2Gi",
            "requests.cpu": "1",
            "requests.memory": "1Gi",
        }

        # With the LimitRange, nginx's pods get defaults and fit (after helloworld is gone).
        for i in range(2):
            await store.delete("pods", NS, f"helloworld-{i}")
        [limit_range] = manifests("limit_range.yaml")
        await store.create("limitranges", limit_range)
        for i in range(3):
            created = await store.create("pods", pod_from("dep_without_quota.yaml", f"nginx-{i}"))
            c = created["spec"]["containers"][0]
            assert c["resources"] == {
                "limits": {"cpu": "200m", "memory": "512Mi"},
                "requests": {"cpu": "100m", "memory": "256Mi"},
            }
            assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
                "LimitRanger plugin set: cpu, memory request for container k8s-demo; "
                "cpu, memory limit for container k8s-demo"
            )
        await controller.wait_synced()
        compute = await store.get("resourcequotas", NS, "user-compute-quota")
        assert compute["status"]["used"] == {
            "limits.cpu": "600m",
            "limits.memory": "1536Mi",
            "requests.cpu": "300m",
            "requests.memory": "768Mi",
        }
        objects = await store.get("resourcequotas", NS, "user-object-quota")
        assert objects["status"]["used"] == {
            "configmaps": "0",  # no namespace controller runs here to add kube-root-ca.crt
            "persistentvolumeclaims": "0",
            "replicationcontrollers": "0",
            "secrets": "0",
            "services": "0",
            "services.loadbalancers": "0",
        }
    finally:
        await controller.stop()


async def test_object_counts_and_services(store: Store) -> None:
    await store.create("namespaces", {"metadata": {"name": "counts"}})
    await store.create(
        "resourcequotas",
        {
            "metadata": {"name": "q", "namespace": "counts"},
            "spec": {
                "hard": {
                    "configmaps": "1",
                    "services.loadbalancers": "1",
                    "services.nodeports": "3",
                    "count/deployments.apps": "0",
                }
            },
        },
    )
    await store.create("configmaps", {"metadata": {"name": "a", "namespace": "counts"}})
    err = await forbidden(store.create("configmaps", {"metadata": {"name": "b", "namespace": "counts"}}))
    assert err.message == (
        'configmaps "b" is forbidden: exceeded quota: q, requested: configmaps=1, used: configmaps=1, '
        "limited: configmaps=1"
    )

    def svc(name: str, kind: str, ports: int) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "namespace": "counts"},
            "spec": {"type": kind, "ports": [{"name": f"p{i}", "port": 80 + i} for i in range(ports)]},
        }

    await store.create("services", svc("lb", "LoadBalancer", 2))
    err = await forbidden(store.create("services", svc("lb2", "LoadBalancer", 1)))
    assert err.message == (
        'services "lb2" is forbidden: exceeded quota: q, requested: services.loadbalancers=1, '
        "used: services.loadbalancers=1, limited: services.loadbalancers=1"
    )
    err = await forbidden(store.create("services", svc("np", "NodePort", 2)))
    assert "requested: services.nodeports=2, used: services.nodeports=2, limited: services.nodeports=3" in (
        err.message
    )
    # An update that turns a ClusterIP Service into a NodePort one is charged its delta.
    await store.create("services", svc("plain", "ClusterIP", 2))

    def to_node_port(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["type"] = "NodePort"
        return obj

    err = await forbidden(store.patch("services", "counts", "plain", to_node_port))
    assert "requested: services.nodeports=2" in err.message

    err = await forbidden(
        store.create(
            "deployments",
            {
                "metadata": {"name": "d", "namespace": "counts"},
                "spec": {
                    "selector": {"matchLabels": {"a": "b"}},
                    "template": {
                        "metadata": {"labels": {"a": "b"}},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                    },
                },
            },
        )
    )
    assert err.message == (
        'deployments.apps "d" is forbidden: exceeded quota: q, requested: count/deployments.apps=1, '
        "used: count/deployments.apps=0, limited: count/deployments.apps=0"
    )
    assert err.status()["details"] == {"name": "d", "group": "apps", "kind": "deployments"}


async def test_dry_run_is_checked_but_not_charged(store: Store) -> None:
    await store.create("namespaces", {"metadata": {"name": "dry"}})
    await store.create(
        "resourcequotas", {"metadata": {"name": "q", "namespace": "dry"}, "spec": {"hard": {"pods": "1"}}}
    )
    for _ in range(3):
        await store.create("pods", pod("p", ns="dry"), dry_run=True)
    await store.create("pods", pod("p", ns="dry"))
    err = await forbidden(store.create("pods", pod("p2", ns="dry"), dry_run=True))
    assert "exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1" in err.message


async def test_terminal_pods_free_their_quota_but_stay_counted(store: Store) -> None:
    await store.create("namespaces", {"metadata": {"name": "term"}})
    await store.create(
        "resourcequotas",
        {"metadata": {"name": "q", "namespace": "term"}, "spec": {"hard": {"pods": "1", "count/pods": "2"}}},
    )
    done = await store.create("pods", pod("done", ns="term"))
    done["status"] = {"phase": "Succeeded"}
    await store.update("pods", done, subresource="status")
    await store.create("pods", pod("next", ns="term"))
    err = await forbidden(store.create("pods", pod("third", ns="term")))
    assert err.message.endswith(
        "exceeded quota: q, requested: count/pods=1,pods=1, used: count/pods=2,pods=1, limited: count/pods=2,pods=1"
    )


async def test_scopes(store: Store) -> None:
    await store.create("namespaces", {"metadata": {"name": "scoped"}})
    await store.create(
        "resourcequotas",
        {
            "metadata": {"name": "be", "namespace": "scoped"},
            "spec": {"hard": {"pods": "1"}, "scopes": ["BestEffort"]},
        },
    )
    await store.create("pods", pod("be-1", ns="scoped"))
    err = await forbidden(store.create("pods", pod("be-2", ns="scoped")))
    assert "exceeded quota: be, requested: pods=1, used: pods=1, limited: pods=1" in err.message
    # A pod with requests is not BestEffort: the scoped quota does not see it.
    await store.create("pods", pod("burst", {"requests": {"cpu": "10m"}}, ns="scoped"))


class Suspending:
    """A validating plug-in after quota that really yields to the event loop (as a webhook would)."""

    async def admit(self, op: str, resource: str, obj: Any, old: Any, user: Any) -> None:
        await asyncio.sleep(0.001)


@pytest.mark.parametrize("slow_plugin", [False, True])
async def test_concurrent_creates_never_exceed_the_quota(store: Store, slow_plugin: bool) -> None:
    if slow_plugin:
        store.add_admission(Suspending(), validating=True)
    await store.create("namespaces", {"metadata": {"name": "race"}})
    await store.create(
        "resourcequotas", {"metadata": {"name": "q", "namespace": "race"}, "spec": {"hard": {"pods": "3"}}}
    )
    results = await asyncio.gather(
        *(store.create("pods", pod(f"p{i}", ns="race")) for i in range(10)), return_exceptions=True
    )
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, APIError)]
    assert len(created) == 3
    assert len(refused) == 7
    assert all(
        "exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3" in r.message for r in refused
    )
    assert len(store.entries("pods", "race")) == 3


LR_NS = "limits"


async def limit_range(store: Store, *items: dict[str, Any]) -> None:
    if ("", LR_NS) not in {
        (e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"])
        for e in store.entries("namespaces")
    }:
        await store.create("namespaces", {"metadata": {"name": LR_NS}})
    await store.create(
        "limitranges", {"metadata": {"name": "lr", "namespace": LR_NS}, "spec": {"limits": list(items)}}
    )


async def test_limit_range_defaults_itself(store: Store) -> None:
    await limit_range(store, {"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"}})
    lr = await store.get("limitranges", LR_NS, "lr")
    [item] = lr["spec"]["limits"]
    assert item["default"] == {"cpu": "1"}
    assert item["defaultRequest"] == {"cpu": "1", "memory": "64Mi"}


async def test_limit_range_min_max_ratio_messages(store: Store) -> None:
    await limit_range(
        store,
        {
            "type": "Container",
            "min": {"cpu": "100m"},
            "max": {"cpu": "1", "memory": "1Gi"},
            "maxLimitRequestRatio": {"cpu": "2"},
        },
    )
    err = await forbidden(
        store.create(
            "pods",
            pod(
                "big",
                {"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
                ns=LR_NS,
            ),
        )
    )
    assert err.message == (
        'pods "big" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, '
        "maximum memory usage per Container is 1Gi, but limit is 2Gi, "
        "cpu max limit to request ratio per Container is 2, but provided ratio is 10.000000]"
    )
    err = await forbidden(
        store.create(
            "pods",
            pod("small", {"requests": {"cpu": "50m"}, "limits": {"cpu": "50m", "memory": "64Mi"}}, ns=LR_NS),
        )
    )
    assert (
        err.message
        == 'pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m'
    )
    ok = await store.create(
        "pods", pod("fits", {"requests": {"cpu": "500m"}, "limits": {"cpu": "1", "memory": "1Gi"}}, ns=LR_NS)
    )
    assert ok["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}


async def test_limit_range_pod_type_and_missing_values(store: Store) -> None:
    await limit_range(store, {"type": "Pod", "max": {"memory": "1Gi"}, "min": {"cpu": "100m"}})
    two = pod("two", {"requests": {"cpu": "50m"}, "limits": {"memory": "600Mi"}}, ns=LR_NS)
    two["spec"]["containers"].append(
        {
            "name": "side",
            "image": "nginx",
            "resources": {"requests": {"cpu": "40m"}, "limits": {"memory": "600Mi"}},
        }
    )
    err = await forbidden(store.create("pods", two))
    assert err.message == (
        'pods "two" is forbidden: [minimum cpu usage per Pod is 100m, but request is 90m, '
        "maximum memory usage per Pod is 1Gi, but limit is 1200Mi]"
    )
    err = await forbidden(store.create("pods", pod("none", ns=LR_NS)))
    assert err.message == (
        'pods "none" is forbidden: [minimum cpu usage per Pod is 100m.  No request is specified, '
        "maximum memory usage per Pod is 1Gi.  No limit is specified]"
    )
