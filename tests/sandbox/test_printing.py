from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.apiserver.printing import format_age, format_endpoints, supports_table, to_table

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def ago(**kw: float) -> str:
    return (NOW - timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(resource: str, obj: dict[str, Any]) -> list[Any]:
    table = to_table(resource, [obj], now=NOW)
    return list(table["rows"][0]["cells"])


def names(resource: str, *, wide: bool) -> list[str]:
    cols = to_table(resource, [], now=NOW)["columnDefinitions"]
    return [c["name"] for c in cols if wide or c["priority"] == 0]


# duration.HumanDuration's own test table (apimachinery pkg/util/duration/duration_test.go).
@pytest.mark.parametrize(
    ("delta", "want"),
    [
        (timedelta(seconds=1), "1s"),
        (timedelta(seconds=70), "70s"),
        (timedelta(seconds=91), "91s"),
        (timedelta(seconds=190), "3m10s"),
        (timedelta(minutes=5, seconds=14), "5m14s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(minutes=10), "10m"),
        (timedelta(minutes=47), "47m"),
        (timedelta(hours=3, minutes=1), "3h1m"),
        (timedelta(hours=4), "4h"),
        (timedelta(hours=9), "9h"),
        (timedelta(hours=47), "47h"),
        (timedelta(hours=49), "2d1h"),
        (timedelta(days=7, hours=23), "7d23h"),
        (timedelta(days=8), "8d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=365 * 2 + 1), "2y1d"),
        (timedelta(days=365 * 8), "8y"),
        (timedelta(seconds=-1), "0s"),
        (timedelta(seconds=-3), "<invalid>"),
    ],
)
def test_format_age_follows_human_duration(delta: timedelta, want: str) -> None:
    created = (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert format_age(created, NOW) == want


@pytest.mark.parametrize("created", [None, "", "yesterday", 12])
def test_zero_or_unreadable_time_is_unknown(created: Any) -> None:
    assert format_age(created, NOW) == "<unknown>"


SEED_POD = {
    "metadata": {
        "name": "greetserver-deploy-7595ccbdd5-67bmd",
        "namespace": "default",
        "creationTimestamp": ago(seconds=91),
        "labels": {"run": "greetserver"},
    },
    "spec": {"nodeName": "minikube", "containers": [{"name": "greetserver", "image": "greet:1"}]},
    "status": {
        "phase": "Running",
        "podIP": "172.17.0.4",
        "podIPs": [{"ip": "172.17.0.4"}],
        "containerStatuses": [
            {"name": "greetserver", "ready": True, "restartCount": 0, "state": {"running": {}}},
        ],
    },
}


def test_seed_pod_row_and_columns() -> None:
    assert names("pods", wide=True) == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ]
    assert names("pods", wide=False) == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert cells("pods", SEED_POD) == [
        "greetserver-deploy-7595ccbdd5-67bmd",
        "1/1",
        "Running",
        "0",
        "91s",
        "172.17.0.4",
        "minikube",
        "<none>",
        "<none>",
    ]


def _pod(status: dict[str, Any], *, init: int = 0, containers: int = 1, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "creationTimestamp": ago(minutes=5), **meta},
        "spec": {
            "containers": [{"name": f"c{i}"} for i in range(containers)],
            "initContainers": [{"name": f"i{i}"} for i in range(init)],
        },
        "status": status,
    }


@pytest.mark.parametrize(
    ("pod", "ready", "status", "restarts"),
    [
        (_pod({"phase": "Pending"}), "0/1", "Pending", "0"),
        (
            _pod(
                {
                    "phase": "Pending",
                    "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}],
                }
            ),
            "0/1",
            "ContainerCreating",
            "0",
        ),
        (
            _pod(
                {
                    "phase": "Running",
                    "containerStatuses": [
                        {
                            "restartCount": 4,
                            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(seconds=30)}},
                        }
                    ],
                }
            ),
            "0/1",
            "CrashLoopBackOff",
            "4 (30s ago)",
        ),
        (
            _pod({"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 137}}}]}),
            "0/1",
            "ExitCode:137",
            "0",
        ),
        (
            _pod({"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"signal": 9}}}]}),
            "0/1",
            "Signal:9",
            "0",
        ),
        (
            _pod(
                {
                    "phase": "Succeeded",
                    "containerStatuses": [{"state": {"terminated": {"reason": "Completed"}}}],
                }
            ),
            "0/1",
            "Completed",
            "0",
        ),
        (
            _pod(
                {"phase": "Pending", "initContainerStatuses": [{"name": "i0", "state": {"waiting": {}}}]},
                init=2,
            ),
            "0/1",
            "Init:0/2",
            "0",
        ),
        (
            _pod(
                {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "i0", "state": {"terminated": {"exitCode": 0}}},
                        {"name": "i1", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                    ],
                },
                init=2,
            ),
            "0/1",
            "Init:CrashLoopBackOff",
            "0",
        ),
        (
            _pod(
                {
                    "phase": "Pending",
                    "initContainerStatuses": [{"name": "i0", "state": {"terminated": {"exitCode": 2}}}],
                },
                init=1,
            ),
            "0/1",
            "Init:ExitCode:2",
            "0",
        ),
        (
            _pod(
                {"phase": "Running", "containerStatuses": [{"ready": True, "state": {"running": {}}}]},
                containers=2,
                deletionTimestamp=ago(seconds=1),
            ),
            "1/2",
            "Terminating",
            "0",
        ),
        (_pod({"phase": "Running", "reason": "Evicted"}), "0/1", "Evicted", "0"),
    ],
)
def test_pod_status_ready_and_restarts(pod: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    assert cells("pods", pod)[1:4] == [ready, status, restarts]


def test_pod_row_conditions_mark_completed_pods() -> None:
    row = to_table("pods", [_pod({"phase": "Succeeded"})], now=NOW)["rows"][0]
    assert row["conditions"][0]["reason"] == "Succeeded"
    assert "conditions" not in to_table("pods", [SEED_POD], now=NOW)["rows"][0]


def test_headless_and_load_balancer_services_as_in_the_seed() -> None:
    headless = {
        "metadata": {"name": "greetserver", "creationTimestamp": ago(minutes=5, seconds=14)},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "None",
            "clusterIPs": ["None"],
            "ports": [{"port": 50051, "protocol": "TCP"}],
            "selector": {"run": "greetserver"},
        },
    }
    lb = {
        "metadata": {"name": "greetclient", "creationTimestamp": ago(seconds=22)},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.110.255.115",
            "ports": [{"port": 9091, "nodePort": 32713, "protocol": "TCP"}],
            "selector": {"run": "greetclient", "app": "x"},
        },
        "status": {"loadBalancer": {}},
    }
    assert names("services", wide=False) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"]
    assert cells("services", headless) == [
        "greetserver",
        "ClusterIP",
        "None",
        "<none>",
        "50051/TCP",
        "5m14s",
        "run=greetserver",
    ]
    assert cells("services", lb) == [
        "greetclient",
        "LoadBalancer",
        "10.110.255.115",
        "<pending>",
        "9091:32713/TCP",
        "22s",
        "app=x,run=greetclient",
    ]
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.9"}]}}
    assert cells("services", lb)[3] == "127.0.0.9"
    external = {
        "metadata": {"name": "db"},
        "spec": {"type": "ExternalName", "externalName": "db.example.com"},
    }
    assert cells("services", external)[2:5] == ["<none>", "db.example.com", "<none>"]


def test_deployment_and_replicaset_rows() -> None:
    template = {
        "metadata": {"labels": {"app": "nginx"}},
        "spec": {
            "containers": [{"name": "nginx", "image": "nginx:1.10"}, {"name": "side", "image": "busybox"}]
        },
    }
    deploy = {
        "metadata": {"name": "blue-1.10", "creationTimestamp": ago(minutes=4, seconds=37)},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx", "tier": "web"}},
            "template": template,
        },
        "status": {"readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3},
    }
    assert names("deployments", wide=False) == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert cells("deployments", deploy) == [
        "blue-1.10",
        "3/3",
        3,
        3,
        "4m37s",
        "nginx,side",
        "nginx:1.10,busybox",
        "app=nginx,tier=web",
    ]
    rs = {
        "metadata": {"name": "nginx-deployment-64ff9dbcdf", "creationTimestamp": ago(minutes=2, seconds=51)},
        "spec": {
            "replicas": 3,
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["b", "a"]}]},
            "template": template,
        },
        "status": {"replicas": 0},
    }
    assert names("replicasets", wide=False) == ["Name", "Desired", "Current", "Ready", "Age"]
    assert cells("replicasets", rs)[:5] == ["nginx-deployment-64ff9dbcdf", 3, 0, 0, "2m51s"]
    assert cells("replicasets", rs)[7] == "app in (a,b)"


def test_resource_quota_splits_requests_and_limits_like_the_seed() -> None:
    quota = {
        "metadata": {"name": "user-compute-quota", "creationTimestamp": ago(seconds=79)},
        "spec": {"hard": {"requests.cpu": "1"}},
        "status": {
            "hard": {
                "requests.cpu": "1",
                "requests.memory": "1Gi",
                "limits.cpu": "2",
                "limits.memory": "2Gi",
            },
            "used": {"requests.cpu": "0", "requests.memory": "0", "limits.cpu": "0"},
        },
    }
    assert names("resourcequotas", wide=True) == ["Name", "Age", "Request", "Limit"]
    assert cells("resourcequotas", quota) == [
        "user-compute-quota",
        "79s",
        "requests.cpu: 0/1, requests.memory: 0/1Gi",
        "limits.cpu: 0/2, limits.memory: 0/2Gi",
    ]
    objects = {
        "metadata": {"name": "user-object-quota"},
        "status": {
            "hard": {"services": "10", "configmaps": "10", "services.loadbalancers": "2"},
            "used": {"configmaps": "1"},
        },
    }
    assert cells("resourcequotas", objects)[2:] == [
        "configmaps: 1/10, services: 0/10, services.loadbalancers: 0/2",
        "",
    ]


def test_endpoints_show_three_then_more() -> None:
    addrs = [{"ip": f"10.0.0.{i}"} for i in range(1, 6)]
    eps = {"subsets": [{"addresses": addrs, "ports": [{"port": 50051}]}]}
    assert format_endpoints(eps) == "10.0.0.1:50051,10.0.0.2:50051,10.0.0.3:50051 + 2 more..."
    assert format_endpoints({"subsets": [{"addresses": addrs[:1]}]}) == "10.0.0.1"
    assert format_endpoints({}) == "<none>"
    assert names("endpoints", wide=True) == ["Name", "Endpoints", "Age"]


def test_small_kinds() -> None:
    assert cells("namespaces", {"metadata": {"name": "default"}, "status": {"phase": "Active"}})[:2] == [
        "default",
        "Active",
    ]
    assert (
        cells("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": ""}})[1] == 2
    )
    assert cells("secrets", {"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}})[1:3] == [
        "Opaque",
        1,
    ]
    node = {
        "metadata": {"name": "sandbox", "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0"},
        },
    }
    assert cells("nodes", node)[:3] == ["sandbox", "Ready,SchedulingDisabled", "control-plane"]
    assert cells("nodes", node)[4:8] == ["v1.32.0", "127.0.0.1", "<none>", "<unknown>"]


def test_event_row() -> None:
    event = {
        "metadata": {"name": "nginx.17a"},
        "involvedObject": {"kind": "ReplicaSet", "name": "nginx-64ff9dbcdf"},
        "reason": "FailedCreate",
        "type": "Warning",
        "message": "Error creating: boom\n",
        "source": {"component": "replicaset-controller"},
        "firstTimestamp": ago(minutes=3, seconds=9),
        "lastTimestamp": ago(seconds=10),
        "count": 5,
    }
    assert names("events", wide=False) == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert cells("events", event) == [
        "10s",
        "Warning",
        "FailedCreate",
        "replicaset/nginx-64ff9dbcdf",
        "",
        "replicaset-controller",
        "Error creating: boom",
        "3m9s",
        5,
        "nginx.17a",
    ]


def test_ingress_as_in_the_seed() -> None:
    ing = {
        "metadata": {"name": "greet-ingress", "creationTimestamp": ago(seconds=32)},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "greet.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.168.49.2"}]}},
    }
    assert names("ingresses", wide=True) == ["Name", "Class", "Hosts", "Address", "Ports", "Age"]
    assert cells("ingresses", ing) == ["greet-ingress", "nginx", "greet.com", "192.168.49.2", "80", "32s"]
    assert cells("ingresses", {"spec": {"rules": [{}], "tls": [{}]}})[1:5] == ["<none>", "*", "", "80, 443"]


def test_generic_fallback_and_envelope() -> None:
    obj = {"metadata": {"name": "limits", "namespace": "ns", "creationTimestamp": "2026-01-01T10:00:00Z"}}
    table = to_table("limitranges", [obj], now=NOW, resource_version="42")
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42"}
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At"]
    assert table["columnDefinitions"][1]["type"] == "date"
    assert table["rows"][0]["cells"] == ["limits", "2026-01-01T10:00:00Z"]
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }
    assert supports_table("roles") and supports_table("pods")
    assert to_table("roles", [obj], include_object="Object")["rows"][0]["object"] is obj
    assert "object" not in to_table("roles", [obj], include_object="None")["rows"][0]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "metadata",
        "spec",
        "status",
        "data",
        "subsets",
        "involvedObject",
        "containers",
        "containerStatuses",
        "ports",
        "hard",
        "used",
        "name",
        "creationTimestamp",
        "rules",
        "selector",
        "template",
        "type",
    ]
)
shaped = st.recursive(
    json_values,
    lambda children: st.dictionaries(keys, children, max_size=4) | st.lists(children, max_size=2),
    max_leaves=20,
)
RESOURCES = [
    "pods",
    "deployments",
    "replicasets",
    "services",
    "endpoints",
    "namespaces",
    "configmaps",
    "secrets",
    "events",
    "nodes",
    "resourcequotas",
    "limitranges",
    "ingresses",
    "roles",
]


@settings(max_examples=150, deadline=None)
@given(resource=st.sampled_from(RESOURCES), obj=shaped)
def test_malformed_objects_never_raise(resource: str, obj: Any) -> None:
    table = to_table(resource, [obj], now=NOW)
    row = table["rows"][0]
    assert len(row["cells"]) == len(table["columnDefinitions"])
