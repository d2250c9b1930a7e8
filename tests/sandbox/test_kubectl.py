"""kubectl 1.32, unchanged, as a subprocess against the sandbox."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sandbox.hooks import pod_log_path
from tests.sandbox.conftest import SandboxProcess

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
"""


@pytest.fixture
def k(sandbox: SandboxProcess, namespace: str):  # type: ignore[no-untyped-def]
    def run(*args: str, input: str | None = None, check: bool = True) -> str:
        return sandbox.kubectl("-n", namespace, *args, input=input, check=check).stdout

    return run


def test_apply_create_unchanged_configured_and_get_outputs(k, namespace: str) -> None:  # type: ignore[no-untyped-def]
    assert k("apply", "-f", "-", input=DEPLOYMENT.replace("REPLICAS", "2")).split("\n")[:2] == [
        "deployment.apps/web created",
        "service/web created",
    ]
    assert "deployment.apps/web unchanged" in k("apply", "-f", "-", input=DEPLOYMENT.replace("REPLICAS", "2"))
    assert "deployment.apps/web configured" in k(
        "apply", "-f", "-", input=DEPLOYMENT.replace("REPLICAS", "3")
    )

    wide = k("get", "deploy", "-o", "wide").splitlines()
    assert wide[0].split() == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert (
        wide[1].split()[0] == "web"
        and wide[1].split()[1].endswith("/3")
        and wide[1].split()[-3:]
        == [
            "nginx",
            "nginx:1.27",
            "app=web",
        ]
    )
    svc = k("get", "svc", "web").splitlines()[1].split()
    assert svc[1] == "ClusterIP" and svc[2].startswith("127.2.") and svc[4] == "80/TCP"
    as_json = json.loads(k("get", "deploy", "web", "-o", "json"))
    assert as_json["spec"]["replicas"] == 3 and as_json["metadata"]["generation"] == 2
    assert yaml.safe_load(k("get", "svc", "web", "-o", "yaml"))["spec"]["ports"][0]["targetPort"] == 80
    assert (
        k("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}") == "nginx:1.27"
    )
    assert k("get", "deploy,svc", "-l", "app=web", "-o", "name").split() == ["deployment.apps/web"]
    everything = k("get", "all")
    assert "service/web" in everything and "deployment.apps/web" in everything

    described = k("describe", "deployment", "web")
    assert (
        "Replicas:               3 desired" in described
        and "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in described
    )
    assert "IP:                       127.2." in k("describe", "service", "web")


def test_create_multi_document_and_list(sandbox: SandboxProcess, namespace: str, k) -> None:  # type: ignore[no-untyped-def]
    docs = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: one, labels: {set: a}}
data: {x: "1"}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: two, labels: {set: a}}
- apiVersion: v1
  kind: ResourceQuota
  metadata: {name: compute}
  spec:
    hard: {pods: "3", requests.cpu: "1", limits.memory: 2Gi}
"""
    out = k("create", "-f", "-", input=docs)
    assert out.split("\n")[:3] == [
        "configmap/one created",
        "configmap/two created",
        "resourcequota/compute created",
    ]
    table = k("get", "cm", "-l", "set=a").splitlines()
    assert [line.split()[0] for line in table] == ["NAME", "one", "two"]
    quota = k("describe", "quota", "compute")
    assert "Name:" in quota and "compute" in quota and "Resource" in quota
    dup = sandbox.kubectl("-n", namespace, "create", "-f", "-", input=docs, check=False)
    assert dup.returncode == 1
    assert (
        'Error from server (AlreadyExists): error when creating "STDIN": configmaps "one" already exists'
        in dup.stderr
    )


def test_patch_scale_label_annotate_delete(sandbox: SandboxProcess, namespace: str, k) -> None:  # type: ignore[no-untyped-def]
    k("apply", "-f", "-", input=DEPLOYMENT.replace("REPLICAS", "1"))
    assert "patched" in k(
        "patch",
        "deploy",
        "web",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}',
    )
    k("patch", "svc", "web", "--type", "merge", "-p", '{"spec":{"selector":{"app":"green"}}}')
    k(
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/track","value":"stable"}]',
    )
    dep = json.loads(k("get", "deploy", "web", "-o", "json"))
    assert [c["image"] for c in dep["spec"]["template"]["spec"]["containers"]] == ["nginx:1.28"]
    assert dep["metadata"]["labels"]["track"] == "stable"
    assert json.loads(k("get", "svc", "web", "-o", "json"))["spec"]["selector"] == {"app": "green"}

    assert "scaled" in k("scale", "deploy", "web", "--replicas=4")
    assert "scaled" in k("scale", "deploy", "web", "--current-replicas=4", "--replicas=2")
    stale = sandbox.kubectl(
        "-n", namespace, "scale", "deploy", "web", "--current-replicas=9", "--replicas=1", check=False
    )
    assert stale.returncode == 1 and "Expected replicas to be 9, was 2" in stale.stderr
    assert k("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}") == "2"

    k("label", "svc", "web", "tier=edge")
    k("annotate", "svc", "web", "owner=team-a")
    svc = json.loads(k("get", "svc", "web", "-o", "json"))
    assert (
        svc["metadata"]["labels"] == {"tier": "edge"} and svc["metadata"]["annotations"]["owner"] == "team-a"
    )

    assert k("delete", "svc", "-l", "tier=edge").strip() == 'service "web" deleted'
    assert k("delete", "deploy", "web").strip() == 'deployment.apps "web" deleted'
    left = sandbox.kubectl("-n", namespace, "get", "deploy,svc")
    assert left.stdout == "" and f"No resources found in {namespace} namespace." in left.stderr


def test_get_watch_sees_a_change(sandbox: SandboxProcess, namespace: str, k) -> None:  # type: ignore[no-untyped-def]
    k(
        "create",
        "-f",
        "-",
        input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: '1'}\n",
    )
    env_cmd = [
        "kubectl",
        "--cache-dir",
        str(sandbox.state_dir / "kube-cache"),
        "-n",
        namespace,
        "get",
        "cm",
        "watched",
        "-w",
        "--request-timeout=20s",
    ]
    proc = subprocess.Popen(
        env_cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            "KUBECONFIG": str(sandbox.kubeconfig),
            "HOME": str(sandbox.state_dir),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        },
    )
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        first = proc.stdout.readline()
        assert header.split() == ["NAME", "DATA", "AGE"] and first.split()[:2] == ["watched", "1"]
        time.sleep(0.3)
        k("patch", "cm", "watched", "--type", "merge", "-p", '{"data":{"b":"2"}}')
        changed = proc.stdout.readline()
        assert changed.split()[:2] == ["watched", "2"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_api_resources_and_explain(sandbox: SandboxProcess) -> None:
    listing = sandbox.kubectl("api-resources").stdout
    rows = {line.split()[0]: line.split() for line in listing.splitlines()[1:]}
    assert rows["pods"][1] == "po" and rows["deployments"][1:3] == ["deploy", "apps/v1"]
    for short in ("svc", "rs", "ep", "ns", "cm", "quota", "limits", "ing", "sa", "ev", "no"):
        assert any(r[1] == short for r in rows.values()), short
    explained = sandbox.kubectl("explain", "deployment").stdout
    assert "KIND:       Deployment" in explained and "spec" in explained


def test_logs_read_what_the_kubelet_writes(sandbox: SandboxProcess, namespace: str, k) -> None:  # type: ignore[no-untyped-def]
    k(
        "create",
        "-f",
        "-",
        # Bound to a node no kubelet runs: this test alone writes the file the kubelet would write.
        input="apiVersion: v1\nkind: Pod\nmetadata: {name: talker}\nspec:\n  nodeName: elsewhere\n  containers: [{name: main, image: busybox}]\n",
    )
    path = pod_log_path(sandbox.state_dir, namespace, "talker", "main")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("2026-01-01T00:00:00.000000001Z hello\n2026-01-01T00:00:01.000000001Z world\n")
    assert k("logs", "talker") == "hello\nworld\n"
    assert k("logs", "talker", "--tail=1") == "world\n"
    assert k("logs", "talker", "--timestamps").startswith("2026-01-01T00:00:00.000000001Z hello")


def _get(k: Callable[..., str], kind: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(k("get", kind, name, "-o", "json"))
    return obj


def test_builtin_creators_post_protobuf_and_the_objects_read_back(
    sandbox: SandboxProcess, namespace: str, k: Callable[..., str]
) -> None:
    """kubectl's typed creators send application/vnd.kubernetes.protobuf; every field they set survives."""
    ns = f"{namespace}-pb"
    verbose = sandbox.kubectl("create", "namespace", ns, "-v=8")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in verbose.stderr  # really protobuf
    try:
        assert json.loads(sandbox.kubectl("get", "namespace", ns, "-o", "json").stdout)["status"] == {
            "phase": "Active"
        }
    finally:
        sandbox.kubectl("delete", "namespace", ns, "--wait=false")

    k("create", "configmap", "cm", "--from-literal=a=1", "--from-literal=b=two words")
    assert _get(k, "configmap", "cm")["data"] == {"a": "1", "b": "two words"}

    k("create", "secret", "generic", "pw", "--from-literal=user=admin", "--from-literal=pass=s3cr=t")
    secret = _get(k, "secret", "pw")
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"user": "YWRtaW4=", "pass": "czNjcj10"}  # base64 of the bytes

    k("create", "serviceaccount", "robot")
    assert _get(k, "serviceaccount", "robot")["metadata"]["namespace"] == namespace

    k("create", "deployment", "web", "--image=nginx", "--replicas=2", "--port=80")
    k("create", "deployment", "cmd", "--image=busybox", "--", "sleep", "300")
    web = _get(k, "deployment", "web")
    assert web["spec"]["replicas"] == 2
    assert web["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert web["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("nginx", "nginx")
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    (cmd,) = _get(k, "deployment", "cmd")["spec"]["template"]["spec"]["containers"]
    assert cmd["command"] == ["sleep", "300"]

    k("create", "service", "clusterip", "web", "--tcp=80:8080")
    svc = _get(k, "service", "web")
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert svc["spec"]["clusterIP"]  # allocated, as for JSON

    k("create", "quota", "q", "--hard=pods=5,configmaps=10")
    assert _get(k, "resourcequota", "q")["spec"]["hard"] == {"pods": "5", "configmaps": "10"}

    k("create", "role", "reader", "--verb=get,list", "--resource=pods,deployments.apps")
    assert _get(k, "role", "reader")["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
    ]
    k(
        "create",
        "rolebinding",
        "reader",
        "--role=reader",
        "--user=alice",
        f"--serviceaccount={namespace}:robot",
    )
    binding = _get(k, "rolebinding", "reader")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
        {"kind": "ServiceAccount", "name": "robot", "namespace": namespace},
    ]

    k("create", "ingress", "web", "--rule=web.example/api*=web:80", "--default-backend=web:80")
    spec = _get(k, "ingress", "web")["spec"]
    assert spec["defaultBackend"] == {"service": {"name": "web", "port": {"number": 80}}}
    assert spec["rules"] == [
        {
            "host": "web.example",
            "http": {
                "paths": [
                    {
                        "path": "/api",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "web", "port": {"number": 80}}},
                    }
                ]
            },
        }
    ]

    # The Deployment's pods appear: the controllers saw an ordinary object.
    deadline = time.monotonic() + 30
    while True:
        pods = json.loads(k("get", "pods", "-l", "app=web", "-o", "json"))["items"]
        if len(pods) == 2:
            break
        assert time.monotonic() < deadline, f"{len(pods)} web pods after 30s"
        time.sleep(0.2)
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx"}


def test_auth_can_i_asks_a_self_subject_access_review(k: Callable[..., str]) -> None:
    """`kubectl auth can-i` posts a SelfSubjectAccessReview (protobuf); the sandbox user may do anything."""
    assert k("auth", "can-i", "patch", "services").strip() == "yes"
    assert k("auth", "can-i", "update", "deployments/scale").strip() == "yes"


def test_rollout_undo_reuses_the_old_replicaset_like_kubernetes(k: Callable[..., str]) -> None:
    """Undo copies the old ReplicaSet's template back (with `creationTimestamp: null`): the same pod-template
    hash, so the old ReplicaSet is scaled up again as the next revision instead of a new one being made."""
    k("create", "deployment", "undo", "--image=nginx", "--replicas=1")
    k("rollout", "status", "deployment/undo", "--timeout=60s")
    k("set", "image", "deployment/undo", "nginx=nginx:1.27")
    k("rollout", "status", "deployment/undo", "--timeout=60s")
    k("rollout", "undo", "deployment/undo")
    k("rollout", "status", "deployment/undo", "--timeout=60s")
    history = k("rollout", "history", "deployment/undo")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    replicasets = json.loads(k("get", "rs", "-l", "app=undo", "-o", "json"))["items"]
    assert len(replicasets) == 2
    by_image = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs for rs in replicasets}
    assert by_image["nginx"]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert by_image["nginx"]["spec"]["replicas"] == 1 and by_image["nginx:1.27"]["spec"]["replicas"] == 0
