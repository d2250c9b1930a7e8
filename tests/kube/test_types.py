from __future__ import annotations

from datetime import UTC, datetime

from kube.types import (
    DeploymentInfo,
    EndpointsInfo,
    LimitRangeInfo,
    PodInfo,
    ReplicaSetInfo,
    ResourceQuotaInfo,
    ServiceInfo,
    parse_time,
)

DEPLOYMENT = {
    "metadata": {
        "name": "blue",
        "namespace": "shop",
        "uid": "u1",
        "resourceVersion": "42",
        "generation": 3,
        "labels": {"app": "blue"},
        "creationTimestamp": "2024-05-01T10:00:00Z",
    },
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "blue"}},
        "template": {
            "metadata": {"labels": {"app": "blue", "version": "v2", "track": "stable"}},
            "spec": {"containers": [{"name": "a", "image": "greet:2"}, {"name": "b", "image": "envoy:1"}]},
        },
    },
    "status": {
        "readyReplicas": 2,
        "availableReplicas": 2,
        "updatedReplicas": 3,
        "observedGeneration": 3,
        "conditions": [
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "m"},
        ],
    },
}


def test_deployment_fields_the_overview_shows() -> None:
    d = DeploymentInfo.from_obj(DEPLOYMENT)
    assert (d.namespace, d.name, d.ref.resource_version) == ("shop", "blue", "42")
    assert (d.ready, d.desired, d.ready_percent) == (2, 3, 67)
    assert d.available is not None and d.available.reason == "MinimumReplicasUnavailable"
    assert not d.is_available
    assert d.images == ("greet:2", "envoy:1")
    assert (d.version, d.track) == ("v2", "stable")
    assert d.selector == {"app": "blue"}
    assert d.ref.created_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_deployment_defaults_when_status_is_missing() -> None:
    d = DeploymentInfo.from_obj({"metadata": {"name": "x", "namespace": "n"}, "spec": {}})
    # spec.replicas defaults to 1 in the API; a fresh object has no status yet.
    assert (d.desired, d.ready, d.available, d.images, d.version) == (1, 0, None, (), "")
    assert DeploymentInfo.from_obj({"metadata": {}, "spec": {"replicas": 0}}).ready_percent == 100


def test_pod_readiness_restarts_and_status() -> None:
    pod = {
        "metadata": {"name": "blue-1", "namespace": "shop", "labels": {"app": "blue", "version": "v1"}},
        "spec": {"nodeName": "sandbox", "containers": [{"name": "a"}, {"name": "b"}]},
        "status": {
            "phase": "Running",
            "podIP": "127.1.0.5",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
                {
                    "name": "b",
                    "ready": False,
                    "restartCount": 5,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                },
            ],
        },
    }
    p = PodInfo.from_obj(pod)
    assert (p.phase, p.ready, p.containers_ready, p.containers) == ("Running", False, 1, 2)
    assert (p.ip, p.restarts, p.version, p.node) == ("127.1.0.5", 7, "v1", "sandbox")
    assert p.status == "CrashLoopBackOff"
    pod["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z"  # type: ignore[index]
    assert PodInfo.from_obj(pod).status == "Terminating"


def test_service_and_endpoints() -> None:
    svc = ServiceInfo.from_obj(
        {
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "annotations": {"switchyard.io/strategy": "canary"},
            },
            "spec": {
                "type": "NodePort",
                "clusterIP": "10.96.0.10",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}],
            },
        }
    )
    assert (svc.type, svc.cluster_ip, svc.selector, svc.headless) == (
        "NodePort",
        "10.96.0.10",
        {"app": "web"},
        False,
    )
    assert svc.ports[0].port == 80 and svc.ports[0].target_port == "8080" and svc.ports[0].node_port == 30080
    assert svc.annotations["switchyard.io/strategy"] == "canary"
    assert ServiceInfo.from_obj({"metadata": {}, "spec": {"clusterIP": "None"}}).headless

    ep = EndpointsInfo.from_obj(
        {
            "metadata": {"name": "web", "namespace": "shop"},
            "subsets": [
                {
                    "addresses": [{"ip": "127.1.0.1"}, {"ip": "127.1.0.2"}],
                    "notReadyAddresses": [{"ip": "127.1.0.3"}],
                },
                {"addresses": [{"ip": "127.1.0.4"}]},
            ],
        }
    )
    assert ep.ready == ("127.1.0.1", "127.1.0.2", "127.1.0.4") and ep.not_ready == ("127.1.0.3",)


def test_replicaset_quota_limitrange() -> None:
    rs = ReplicaSetInfo.from_obj(
        {
            "metadata": {
                "name": "blue-abc",
                "ownerReferences": [{"kind": "Deployment", "name": "blue"}],
                "annotations": {"deployment.kubernetes.io/revision": "4"},
            },
            "spec": {"replicas": 3},
            "status": {
                "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}]
            },
        }
    )
    assert (rs.owner, rs.revision, rs.desired, rs.ready, rs.conditions[0].reason) == (
        "blue",
        "4",
        3,
        0,
        "FailedCreate",
    )
    quota = ResourceQuotaInfo.from_obj(
        {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "4"}}, "status": {"used": {"pods": "1"}}}
    )
    assert (quota.hard, quota.used) == ({"pods": "4"}, {"pods": "1"})
    lr = LimitRangeInfo.from_obj(
        {"metadata": {"name": "l"}, "spec": {"limits": [{"type": "Container", "default": {"cpu": "200m"}}]}}
    )
    assert lr.limits[0].type == "Container" and lr.limits[0].default == {"cpu": "200m"}


def test_parse_time() -> None:
    assert parse_time("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_time(None) is None and parse_time("yesterday") is None
