from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.admission.defaults import (
    ALPHANUMS,
    apply_defaults,
    pod_template_hash,
    qos_class,
    random_suffix,
    safe_encode,
)


def defaulted(resource: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    apply_defaults(resource, out)
    return out


TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"run": "greetserver"}},
    "spec": {
        "containers": [{"name": "greetserver", "image": "greet:1", "ports": [{"containerPort": 50051}]}]
    },
}


def test_deployment_defaults_as_kubernetes_sets_them() -> None:
    d = defaulted("deployments", {"metadata": {"name": "d"}, "spec": {"template": copy.deepcopy(TEMPLATE)}})
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod_spec = spec["template"]["spec"]
    assert {
        k: pod_spec[k]
        for k in (
            "dnsPolicy",
            "restartPolicy",
            "securityContext",
            "terminationGracePeriodSeconds",
            "schedulerName",
        )
    } == {
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler",
    }
    # Pod-only defaults stay off templates.
    assert "enableServiceLinks" not in pod_spec
    assert "status" not in spec["template"]
    container = pod_spec["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["ports"] == [{"containerPort": 50051, "protocol": "TCP"}]


def test_recreate_strategy_gets_no_rolling_update_and_explicit_values_stay() -> None:
    d = defaulted("deployments", {"spec": {"replicas": 0, "strategy": {"type": "Recreate"}, "template": {}}})
    assert d["spec"]["strategy"] == {"type": "Recreate"}
    assert d["spec"]["replicas"] == 0


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.10", "IfNotPresent"),
        ("localhost:5000/greet", "Always"),
        ("localhost:5000/greet:v2", "IfNotPresent"),
        ("gcr.io/google-containers/busybox", "Always"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy_by_tag(image: str, policy: str) -> None:
    pod = defaulted("pods", {"spec": {"containers": [{"name": "c", "image": image}]}})
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_pod_defaults_status_and_requests_from_limits() -> None:
    pod = defaulted(
        "pods",
        {
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "nginx:1",
                        "resources": {
                            "limits": {"cpu": "500m", "memory": "128Mi"},
                            "requests": {"cpu": "250m"},
                        },
                        "readinessProbe": {"httpGet": {"port": 80}},
                    }
                ]
            }
        },
    )
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "128Mi"}
    assert container["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert pod["spec"]["enableServiceLinks"] is True
    assert pod["status"] == {"phase": "Pending", "qosClass": "Burstable"}


def test_templates_do_not_get_requests_from_limits() -> None:
    template = {
        "spec": {"containers": [{"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "1"}}}]}
    }
    rs = defaulted("replicasets", {"spec": {"template": template}})
    assert rs["spec"]["replicas"] == 1
    assert "requests" not in rs["spec"]["template"]["spec"]["containers"][0]["resources"]


def _spec(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}


@pytest.mark.parametrize(
    ("spec", "qos"),
    [
        (_spec({}), "BestEffort"),
        (_spec({"requests": {"nvidia.com/gpu": "1"}}), "BestEffort"),
        (
            _spec({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
            "Guaranteed",
        ),
        (
            _spec(
                {"requests": {"cpu": "1000m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1024Mi"}}
            ),
            "Guaranteed",
        ),
        (
            _spec({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
            "Burstable",
        ),
        (_spec({"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}), "Burstable"),
        (
            _spec({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}, {}),
            "Burstable",
        ),
    ],
)
def test_qos_class(spec: dict[str, Any], qos: str) -> None:
    assert qos_class(spec) == qos


def test_service_defaults() -> None:
    svc = defaulted(
        "services",
        {"spec": {"type": "LoadBalancer", "ports": [{"port": 9091}, {"port": 80, "targetPort": "http"}]}},
    )
    spec = svc["spec"]
    assert spec["ports"] == [
        {"port": 9091, "protocol": "TCP", "targetPort": 9091},
        {"port": 80, "protocol": "TCP", "targetPort": "http"},
    ]
    assert spec["sessionAffinity"] == "None"
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["ipFamilies"] == ["IPv4"]
    plain = defaulted("services", {"spec": {"clusterIP": "None", "ports": [{"port": 50051}]}})["spec"]
    assert plain["type"] == "ClusterIP"
    assert "externalTrafficPolicy" not in plain
    assert plain["clusterIP"] == "None"


def test_namespace_secret_configmap_limitrange() -> None:
    ns = defaulted("namespaces", {"metadata": {"name": "mynamespace"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "mynamespace"}
    assert ns["status"] == {"phase": "Active"}
    assert defaulted("secrets", {"data": {}})["type"] == "Opaque"
    assert defaulted("secrets", {"type": "kubernetes.io/tls"})["type"] == "kubernetes.io/tls"
    assert defaulted("configmaps", {})["data"] == {}
    lr = defaulted(
        "limitranges",
        {"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}},
    )
    item = lr["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


def test_safe_encode_and_hash_alphabet() -> None:
    # rand.SafeEncodeString maps each character by code point: '0' is 48, 48 % 27 = 21 -> '4'.
    assert safe_encode("0") == ALPHANUMS[48 % 27] == "4"
    assert safe_encode("7595") == "".join(ALPHANUMS[ord(ch) % 27] for ch in "7595")
    h = pod_template_hash(TEMPLATE)
    assert h == pod_template_hash(copy.deepcopy(TEMPLATE))
    assert 1 <= len(h) <= 10 and set(h) <= set(ALPHANUMS)
    assert pod_template_hash(TEMPLATE, 1) != h
    changed = copy.deepcopy(TEMPLATE)
    changed["spec"]["containers"][0]["image"] = "greet:2"
    assert pod_template_hash(changed) != h
    suffix = random_suffix()
    assert len(suffix) == 5 and set(suffix) <= set(ALPHANUMS)
    assert len(random_suffix(8)) == 8


@pytest.mark.parametrize(
    "seen", ["7595ccbdd5", "6bddb94df", "579857b89c", "64ff9dbcdf", "7986cbf64d", "6c6ff57655"]
)
def test_hashes_from_the_seed_decode_to_a_uint32(seen: str) -> None:
    # Real pod-template-hash values (seed transcripts) are SafeEncodeString of a decimal uint32.
    digits = {safe_encode(d): d for d in "0123456789"}
    decimal = "".join(digits[ch] for ch in seen)
    assert int(decimal) < 2**32
    assert safe_encode(decimal) == seen


def test_known_fnv32a_value() -> None:
    # FNV-1a 32 of "{}" is 0x0D9E6E12... computed independently below (offset basis, prime).
    h = 0x811C9DC5
    for b in b"{}":
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    assert pod_template_hash({}) == safe_encode(str(h))


RESOURCES = [
    "pods",
    "deployments",
    "replicasets",
    "services",
    "namespaces",
    "secrets",
    "configmaps",
    "endpoints",
    "limitranges",
    "events",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)
keys = st.sampled_from(
    [
        "metadata",
        "spec",
        "status",
        "template",
        "containers",
        "resources",
        "limits",
        "requests",
        "ports",
        "strategy",
        "type",
        "name",
        "labels",
        "image",
        "limits",
    ]
)
shaped = st.recursive(
    json_values,
    lambda children: st.dictionaries(keys, children, max_size=4) | st.lists(children, max_size=2),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(resource=st.sampled_from(RESOURCES), obj=st.dictionaries(keys, shaped, max_size=4))
def test_malformed_objects_never_raise_and_defaulting_is_idempotent(
    resource: str, obj: dict[str, Any]
) -> None:
    apply_defaults(resource, obj)
    once = copy.deepcopy(obj)
    apply_defaults(resource, obj)
    assert obj == once
