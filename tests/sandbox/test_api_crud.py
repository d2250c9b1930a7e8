"""CRUD through the official `kubernetes` client against a real sandbox, for every served resource."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from tests.sandbox.conftest import SandboxProcess

SELECTOR = {"matchLabels": {"app": "demo"}}
TEMPLATE = {
    "metadata": {"labels": {"app": "demo"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
}
RBAC = "rbac.authorization.k8s.io/v1"
RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
SUBJECTS = [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]
# Every namespace gets ConfigMap kube-root-ca.crt from the namespace controller (as in Kubernetes),
# asynchronously: lists that mean "the test's own configmaps" leave it out by name.
ROOT_CA = "kube-root-ca.crt"
NOT_ROOT_CA = f"metadata.name!={ROOT_CA}"

# (apiVersion, kind, namespaced, body without metadata)
SAMPLES: list[tuple[str, str, bool, dict[str, Any]]] = [
    (
        "v1",
        "Pod",
        True,
        {"spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "1"]}]}},
    ),
    ("v1", "Service", True, {"spec": {"selector": {"app": "demo"}, "ports": [{"port": 80}]}}),
    ("v1", "Endpoints", True, {"subsets": [{"addresses": [{"ip": "127.1.0.9"}], "ports": [{"port": 80}]}]}),
    ("v1", "ConfigMap", True, {"data": {"k": "v"}}),
    ("v1", "Secret", True, {"stringData": {"password": "s3cret"}}),
    ("v1", "ServiceAccount", True, {}),
    (
        "v1",
        "Event",
        True,
        {
            "involvedObject": {"kind": "Pod", "name": "x", "namespace": "NS"},
            "reason": "Tested",
            "message": "hello",
            "type": "Normal",
        },
    ),
    ("v1", "ResourceQuota", True, {"spec": {"hard": {"pods": "5"}}}),
    ("v1", "LimitRange", True, {"spec": {"limits": [{"type": "Container", "default": {"cpu": "100m"}}]}}),
    ("v1", "Namespace", False, {}),
    ("v1", "Node", False, {}),
    ("apps/v1", "Deployment", True, {"spec": {"selector": SELECTOR, "template": TEMPLATE}}),
    ("apps/v1", "ReplicaSet", True, {"spec": {"selector": SELECTOR, "template": TEMPLATE}}),
    (
        "discovery.k8s.io/v1",
        "EndpointSlice",
        True,
        {
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.1.0.9"]}],
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    ),
    (
        "networking.k8s.io/v1",
        "Ingress",
        True,
        {
            "spec": {
                "rules": [
                    {
                        "host": "greet.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            }
        },
    ),
    (RBAC, "Role", True, {"rules": RULES}),
    (RBAC, "ClusterRole", False, {"rules": RULES}),
    (
        RBAC,
        "RoleBinding",
        True,
        {
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": SUBJECTS,
        },
    ),
    (
        RBAC,
        "ClusterRoleBinding",
        False,
        {
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
            "subjects": SUBJECTS,
        },
    ),
]


@pytest.fixture(scope="module")
def dynamic(api_client: client.ApiClient) -> DynamicClient:
    return DynamicClient(api_client)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(("api_version", "kind", "namespaced", "body"), SAMPLES, ids=[s[1] for s in SAMPLES])
def test_crud_every_resource(
    dynamic: DynamicClient,
    namespace: str,
    api_version: str,
    kind: str,
    namespaced: bool,
    body: dict[str, Any],
) -> None:
    api = dynamic.resources.get(api_version=api_version, kind=kind)
    name = f"crud-{uuid.uuid4().hex[:8]}"
    manifest = json.loads(json.dumps(body).replace('"NS"', json.dumps(namespace)))
    manifest.update(
        {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "labels": {"suite": "crud"}}}
    )
    ns = namespace if namespaced else None

    created = api.create(body=manifest, namespace=ns)
    assert created.metadata.name == name
    assert created.metadata.uid and created.metadata.creationTimestamp
    rv1 = int(created.metadata.resourceVersion)

    got = api.get(name=name, namespace=ns)
    assert got.metadata.uid == created.metadata.uid

    listed = api.get(namespace=ns, label_selector="suite=crud")
    assert name in [item.metadata.name for item in listed.items]
    assert int(listed.metadata.resourceVersion) >= rv1

    patched = api.patch(
        name=name,
        namespace=ns,
        body={"metadata": {"labels": {"patched": "yes"}}},
        content_type="application/merge-patch+json",
    )
    assert patched.metadata.labels["patched"] == "yes"
    assert int(patched.metadata.resourceVersion) > rv1

    api.delete(name=name, namespace=ns)
    # A pod the kubelet runs terminates gracefully first, as in Kubernetes: wait (bounded) for the 404.
    deadline = time.monotonic() + 40
    while True:
        try:
            api.get(name=name, namespace=ns)
        except client.ApiException as exc:
            err = exc
            break
        assert time.monotonic() < deadline, f"{kind} {name} still exists after delete"
        time.sleep(0.2)
    assert err.status == 404
    status = json.loads(str(err.body))
    assert status["kind"] == "Status" and status["reason"] == "NotFound"


def test_secret_string_data_is_stored_as_base64_data(api_client: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(api_client)
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"a": "b"})
    )
    secret = core.read_namespaced_secret("s", namespace)
    assert secret.data == {"a": "Yg=="}
    assert secret.type == "Opaque"


def test_self_subject_access_review_is_allowed(api_client: client.ApiClient) -> None:
    review: Any = client.AuthorizationV1Api(api_client).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb="patch", resource="services", namespace="default"
                )
            )
        )
    )
    assert review.status.allowed is True


def test_typed_deployment_defaults_generation_and_scale(api_client: client.ApiClient, namespace: str) -> None:
    apps: Any = client.AppsV1Api(api_client)
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": SELECTOR, "template": TEMPLATE},
    }
    dep = apps.create_namespaced_deployment(namespace, body)
    assert dep.spec.replicas == 1
    assert dep.spec.strategy.rolling_update.max_surge == "25%"
    assert dep.metadata.generation == 1
    scale = apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 4}})
    assert scale.spec.replicas == 4
    assert scale.status.selector == "app=demo"
    dep = apps.read_namespaced_deployment("web", namespace)
    assert dep.spec.replicas == 4 and dep.metadata.generation == 2
    # A status write changes only status, and does not bump generation. The deployment controller
    # writes status too, so a stale read may meet a 409: re-read and retry, as controllers do.
    for _ in range(20):
        dep = apps.read_namespaced_deployment("web", namespace)
        dep.status = client.V1DeploymentStatus(replicas=4, ready_replicas=2, observed_generation=2)
        dep.spec.replicas = 9
        try:
            after = apps.replace_namespaced_deployment_status("web", namespace, dep)
            break
        except client.ApiException as exc:
            assert exc.status == 409
    assert after.spec.replicas == 4 and after.status.ready_replicas == 2 and after.metadata.generation == 2


def test_service_strategic_merge_adds_port_by_key(api_client: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(api_client)
    svc = core.create_namespaced_service(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "greet"},
            "spec": {"selector": {"app": "greet"}, "ports": [{"name": "grpc", "port": 50051}]},
        },
    )
    assert svc.spec.cluster_ip.startswith("127.2.")
    patched = core.patch_namespaced_service(
        "greet", namespace, {"spec": {"ports": [{"name": "http", "port": 9091}]}}
    )
    assert sorted(p.port for p in patched.spec.ports) == [9091, 50051]
    assert patched.spec.cluster_ip == svc.spec.cluster_ip


def test_headless_service_stays_headless_and_nodeport_is_allocated(
    api_client: client.ApiClient, namespace: str
) -> None:
    core: Any = client.CoreV1Api(api_client)
    headless = core.create_namespaced_service(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "h"},
            "spec": {"clusterIP": "None", "selector": {"app": "x"}, "ports": [{"port": 80}]},
        },
    )
    assert headless.spec.cluster_ip == "None"
    np = core.create_namespaced_service(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "np"},
            "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]},
        },
    )
    assert 30000 <= np.spec.ports[0].node_port <= 32767


def test_configmap_json_patch_then_merge_patch_then_label_list(
    api_client: client.ApiClient, namespace: str
) -> None:
    core: Any = client.CoreV1Api(api_client)
    for name in ("one", "two"):
        core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"a": "1"})
        )
    # A list body makes the client send application/json-patch+json.
    core.patch_namespaced_config_map(
        "one",
        namespace,
        [
            {"op": "add", "path": "/data/b", "value": "2"},
            {"op": "add", "path": "/metadata/labels", "value": {"tier": "x"}},
        ],
    )
    merged = core.patch_namespaced_config_map("one", namespace, {"data": {"a": None, "c": "3"}})
    assert merged.data == {"b": "2", "c": "3"}
    listed = core.list_namespaced_config_map(namespace, label_selector="tier in (x,y)")
    assert [cm.metadata.name for cm in listed.items] == ["one"]
    assert [
        cm.metadata.name
        for cm in core.list_namespaced_config_map(
            namespace, label_selector="!tier", field_selector=NOT_ROOT_CA
        ).items
    ] == ["two"]


def test_stale_update_is_409_conflict(api_client: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(api_client)
    cm = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={"a": "1"})
    )
    core.patch_namespaced_config_map("c", namespace, {"data": {"a": "2"}})
    cm.data = {"a": "3"}
    with pytest.raises(client.ApiException) as err:
        core.replace_namespaced_config_map("c", namespace, cm)
    assert err.value.status == 409
    status = json.loads(str(err.value.body))
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]
    assert core.read_namespaced_config_map("c", namespace).data == {"a": "2"}


def test_invalid_deployment_is_422_with_causes(api_client: client.ApiClient, namespace: str) -> None:
    apps: Any = client.AppsV1Api(api_client)
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "Bad_Name"},
        "spec": {"selector": {"matchLabels": {"app": "other"}}, "template": TEMPLATE},
    }
    with pytest.raises(client.ApiException) as err:
        apps.create_namespaced_deployment(namespace, body)
    assert err.value.status == 422
    status = json.loads(str(err.value.body))
    assert status["reason"] == "Invalid" and status["details"]["kind"] == "Deployment"
    fields = {c["field"] for c in status["details"]["causes"]}
    assert "metadata.name" in fields
    assert "spec.template.metadata.labels" in fields
    assert apps.list_namespaced_deployment(namespace).items == []


def test_delete_preconditions_and_deletecollection(api_client: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(api_client)
    for name in ("a", "b", "c"):
        core.create_namespaced_config_map(
            namespace,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=name, labels={"g": "1" if name != "c" else "2"})
            ),
        )
    with pytest.raises(client.ApiException) as err:
        core.delete_namespaced_config_map(
            "a", namespace, body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="nope"))
        )
    assert err.value.status == 409
    core.delete_collection_namespaced_config_map(namespace, label_selector="g=1")
    left = core.list_namespaced_config_map(namespace, field_selector=NOT_ROOT_CA).items
    assert [cm.metadata.name for cm in left] == ["c"]


def test_dry_run_writes_nothing(api_client: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(api_client)
    made = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="d")), dry_run="All"
    )
    assert made.metadata.name == "d"
    assert core.list_namespaced_config_map(namespace, field_selector=NOT_ROOT_CA).items == []


def test_list_pagination_with_limit_and_continue(api_client: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(api_client)
    for i in range(5):
        core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"p{i}"))
        )
    # Unfiltered, so remainingItemCount is meaningful (Kubernetes leaves it unset with selectors):
    # wait for the controller's kube-root-ca.crt, which sorts first.
    deadline = time.monotonic() + 10
    while not core.list_namespaced_config_map(namespace, field_selector=f"metadata.name={ROOT_CA}").items:
        assert time.monotonic() < deadline, f"{ROOT_CA} never appeared in {namespace}"
        time.sleep(0.05)
    first = core.list_namespaced_config_map(namespace, limit=2)
    assert [c.metadata.name for c in first.items] == [ROOT_CA, "p0"]
    assert first.metadata.remaining_item_count == 4
    rest = core.list_namespaced_config_map(namespace, limit=10, _continue=first.metadata._continue)
    assert [c.metadata.name for c in rest.items] == ["p1", "p2", "p3", "p4"] and not rest.metadata._continue


def test_field_selectors_on_pods_and_events(api_client: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(api_client)
    # p1 names a node nobody runs; p2 is left to the sandbox's own node.
    for name, node in (("p1", "elsewhere"), ("p2", "")):
        spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
        if node:
            spec["nodeName"] = node
        core.create_namespaced_pod(
            namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
        )
    on_node = core.list_namespaced_pod(namespace, field_selector="spec.nodeName=elsewhere")
    assert [p.metadata.name for p in on_node.items] == ["p1"]
    by_name = core.list_namespaced_pod(namespace, field_selector="metadata.name!=p1,status.phase!=Unknown")
    assert [p.metadata.name for p in by_name.items] == ["p2"]
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_pod(namespace, field_selector="spec.bogus=x")
    assert err.value.status == 400


def test_strict_field_validation_rejects_unknown_top_level_fields(
    sandbox: SandboxProcess, namespace: str
) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "strict"}, "dataa": {"a": "1"}}
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    strict = sandbox.request("POST", path + "?fieldValidation=Strict", body)
    assert strict.status == 400
    assert 'unknown field "dataa"' in json.loads(strict.data)["message"]
    warned = sandbox.request("POST", path, body)
    assert warned.status == 201
    assert "unknown field" in warned.headers.get("Warning", "")
    assert "dataa" not in json.loads(warned.data)


def test_yaml_body_and_put_scale_without_content_type(sandbox: SandboxProcess, namespace: str) -> None:
    yaml_body = f"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: rs\n  namespace: {namespace}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: demo}}\n  template:\n    metadata:\n      labels: {{app: demo}}\n    spec:\n      containers: [{{name: c, image: nginx}}]\n"
    made = sandbox.request(
        "POST",
        f"/apis/apps/v1/namespaces/{namespace}/replicasets",
        yaml_body,
        content_type="application/yaml",
    )
    assert made.status == 201, made.data
    scale = json.loads(
        sandbox.request("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets/rs/scale").data
    )
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    scale["spec"]["replicas"] = 3
    del scale["metadata"]["resourceVersion"]  # the ReplicaSet controller may write status meanwhile
    put = sandbox.request(
        "PUT",
        f"/apis/apps/v1/namespaces/{namespace}/replicasets/rs/scale",
        json.dumps(scale),
        content_type=None,
    )
    assert put.status == 200, put.data
    assert json.loads(put.data)["spec"]["replicas"] == 3


def test_tokens_and_health(sandbox: SandboxProcess) -> None:
    for token in ("", "wrong"):
        resp = sandbox.request("GET", "/api/v1/namespaces", token=token)
        assert resp.status == 401
        assert json.loads(resp.data) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    assert sandbox.request("GET", "/readyz", token="").data == b"ok"
    assert json.loads(sandbox.request("GET", "/version", token="").data)["minor"] == "32"
    names = {
        ns["metadata"]["name"]
        for ns in json.loads(sandbox.request("GET", "/api/v1/namespaces").data)["items"]
    }
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_table_output_for_lists_and_items(sandbox: SandboxProcess, namespace: str) -> None:
    sandbox.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"metadata": {"name": "t"}, "data": {"a": "1", "b": "2"}},
    )
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    table = json.loads(
        sandbox.request(
            "GET", f"/api/v1/namespaces/{namespace}/configmaps?fieldSelector={NOT_ROOT_CA}", headers=accept
        ).data
    )
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [row["cells"][:2] for row in table["rows"]] == [["t", 2]]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    one = json.loads(
        sandbox.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/t", headers=accept).data
    )
    assert one["kind"] == "Table" and len(one["rows"]) == 1


def test_generate_name_is_validated_as_the_generated_name(sandbox: SandboxProcess, namespace: str) -> None:
    # client-go's event recorder style: the prefix ends in "." and the generated name is valid.
    event = {
        "metadata": {"generateName": "web."},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": namespace},
        "reason": "Tested",
        "message": "generateName ending in a dot",
        "type": "Normal",
    }
    made = sandbox.request("POST", f"/api/v1/namespaces/{namespace}/events", event)
    assert made.status == 201, made.data
    name = json.loads(made.data)["metadata"]["name"]
    assert name.startswith("web.") and len(name) == len("web.") + 5
    # A prefix whose generated name can never be valid is still refused.
    bad = sandbox.request(
        "POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"generateName": "Bad_"}}
    )
    assert bad.status == 422, bad.data
    # Long prefixes are cut so that the generated name fits in 63 characters.
    long = sandbox.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/services",
        {"metadata": {"generateName": "s" * 70}, "spec": {"ports": [{"port": 80}]}},
    )
    assert long.status == 201, long.data
    assert len(json.loads(long.data)["metadata"]["name"]) == 63


def test_put_finalize_updates_namespace_spec_finalizers(sandbox: SandboxProcess) -> None:
    name = f"fin-{uuid.uuid4().hex[:8]}"
    assert sandbox.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}}).status == 201
    ns = json.loads(sandbox.request("GET", f"/api/v1/namespaces/{name}").data)
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    ns["spec"]["finalizers"] = ["kubernetes", "example.com/hold"]
    # A plain update leaves spec.finalizers alone, as in Kubernetes.
    plain = sandbox.request("PUT", f"/api/v1/namespaces/{name}", ns)
    assert plain.status == 200 and json.loads(plain.data)["spec"]["finalizers"] == ["kubernetes"]
    ns = json.loads(plain.data)
    ns["spec"]["finalizers"] = ["kubernetes", "example.com/hold"]
    fin = sandbox.request("PUT", f"/api/v1/namespaces/{name}/finalize", ns)
    assert fin.status == 200, fin.data
    assert json.loads(fin.data)["spec"]["finalizers"] == ["kubernetes", "example.com/hold"]
    got = json.loads(sandbox.request("GET", f"/api/v1/namespaces/{name}").data)
    assert got["spec"]["finalizers"] == ["kubernetes", "example.com/hold"]
    got["spec"]["finalizers"] = []
    assert sandbox.request("PUT", f"/api/v1/namespaces/{name}/finalize", got).status == 200
    assert sandbox.request("DELETE", f"/api/v1/namespaces/{name}").status in (200, 202)
    deadline = time.monotonic() + 15
    while sandbox.request("GET", f"/api/v1/namespaces/{name}").status != 404:
        assert time.monotonic() < deadline, "namespace never went away"
        time.sleep(0.1)


def test_endpointslices_table_like_kubernetes(sandbox: SandboxProcess, namespace: str) -> None:
    path = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
    slices: list[dict[str, Any]] = [
        {
            "metadata": {"name": "four", "labels": {"t": "eps"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80}, {"name": "named"}, {}, {"port": 9}],
            "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 5)],
        },
        {"metadata": {"name": "none", "labels": {"t": "eps"}}, "addressType": "IPv4", "endpoints": []},
    ]
    for body in slices:
        assert sandbox.request("POST", path, body).status == 201
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    table = json.loads(sandbox.request("GET", path + "?labelSelector=t%3Deps", headers=accept).data)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "AddressType",
        "Ports",
        "Endpoints",
        "Age",
    ]
    rows = {row["cells"][0]: row["cells"][1:4] for row in table["rows"]}
    assert rows == {
        "four": ["IPv4", "80,named,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."],
        "none": ["IPv4", "<unset>", "<unset>"],
    }
