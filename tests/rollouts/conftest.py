"""Rollout fixtures: one sandbox for the module (private pod/Service ranges), the deploy/ blue/green and
canary sets applied into a fresh namespace, the dashboard hub pointed at it, users by role.

Fixtures
    rollout_sandbox (session) a running sandbox on 127.81/127.82
    rollout_cluster (session) its kube.clusters.Cluster
    lookaside       (session) deploy/greet's lookaside balancer (Kubernetes source) Ready in default
    bg_namespace    (function) deploy/bluegreen in a fresh namespace, both colours 3/3 Available
    canary_namespace(function) deploy/canary in a fresh namespace, stable 3 + canary 1 Available
    hub             (function) settings + dashboard.hub on the sandbox
    viewer, operator (function) users by role
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from dashboard.hub import get_hub, reset_hub
from kube.clusters import Cluster, cluster_list
from kube.watching import WatchHub
from rollouts import services
from rollouts.selectors import Rollout, rollout_get
from tests.kube.conftest import eventually
from tests.sandbox.conftest import SandboxProcess

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "signal-box-lever-42"


@pytest.fixture(scope="session")
def rollout_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    proc = SandboxProcess(
        tmp_path_factory.mktemp("rollout-sandbox"),
        extra_args=("--pod-cidr", "127.81.0.0/16", "--service-cidr", "127.82.0.0/16"),
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def rollout_cluster(rollout_sandbox: SandboxProcess) -> Cluster:
    (found,) = cluster_list(kubeconfig=str(rollout_sandbox.kubeconfig))
    return found


@pytest.fixture
def hub(settings: Any, rollout_sandbox: SandboxProcess) -> Iterator[WatchHub]:
    settings.SWITCHYARD_KUBECONFIG = str(rollout_sandbox.kubeconfig)
    settings.SWITCHYARD_CONTEXTS = []
    reset_hub()
    services.scheduler_enable(False)  # tests run due steps themselves (scheduled_run_due)
    try:
        yield get_hub()
    finally:
        services.scheduler_enable(True)
        reset_hub()


@pytest.fixture(scope="session")
def lookaside(rollout_sandbox: SandboxProcess) -> str:
    """The lookaside balancer every rollout probe goes through; its Pod name."""
    for path in ("lookaside.yaml", "rbac.yaml"):
        rollout_sandbox.kubectl("apply", "-f", str(REPO / "deploy" / "greet" / path))

    def ready() -> bool:
        pod = json.loads(rollout_sandbox.kubectl("get", "pod", "lookaside", "-o", "json").stdout)
        conditions = (pod.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    assert eventually(ready, timeout=60, interval=0.2), "the lookaside pod did not become Ready"
    return "lookaside"


def manifests_in(path: Path, namespace: str) -> str:
    return path.read_text().replace("namespace: default", f"namespace: {namespace}")


def _apply(sandbox: SandboxProcess, manifest: Path, prefix: str) -> Iterator[str]:
    ns = f"{prefix}-{uuid.uuid4().hex[:8]}"
    namespace = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
    sandbox.kubectl("apply", "-f", "-", input=namespace + manifests_in(manifest, ns))
    try:
        yield ns
    finally:
        sandbox.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def wait_rollout(
    cluster: str, ns: str, name: str, ok: Callable[[Rollout], bool], timeout: float = 60
) -> Rollout:
    """The rollout from the hub's cache once `ok` holds (the cache follows the API by milliseconds)."""

    def probe() -> Rollout | None:
        r = rollout_get(cluster=cluster, namespace=ns, name=name, wait=5)
        return r if r is not None and ok(r) else None

    found: Rollout | None = eventually(probe, timeout=timeout, interval=0.1)
    assert found is not None, f"{ns}/{name} did not reach the expected state in {timeout}s"
    return found


@pytest.fixture
def bg_namespace(rollout_sandbox: SandboxProcess) -> Iterator[str]:
    yield from _apply(rollout_sandbox, REPO / "deploy" / "bluegreen" / "greet-bluegreen.yaml", "bg")


@pytest.fixture
def canary_namespace(rollout_sandbox: SandboxProcess) -> Iterator[str]:
    yield from _apply(rollout_sandbox, REPO / "deploy" / "canary" / "greet-canary.yaml", "cn")


def _adduser(name: str, role: str) -> Any:
    call_command("adduser", name, "--role", role, "--password", PASSWORD, stdout=StringIO())
    return get_user_model().objects.get(username=name)


@pytest.fixture
def viewer(db: None) -> Any:
    return _adduser("vera", "viewer")


@pytest.fixture
def operator(db: None) -> Any:
    return _adduser("otto", "operator")


def scale(sandbox: SandboxProcess, ns: str, name: str, replicas: int) -> None:
    """A plain scale as another client would make it (the official client, JSON)."""
    from kubernetes import client

    api = sandbox.api_client()
    try:
        body: Any = {"spec": {"replicas": replicas}}
        client.AppsV1Api(api).patch_namespaced_deployment_scale(name, ns, body)
    finally:
        api.close()  # type: ignore[no-untyped-call]
