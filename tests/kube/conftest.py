"""A real sandbox for kube/ and dashboard tests (the SandboxProcess of tests/sandbox, our own fixtures).

Fixtures
    kube_sandbox   (session) a running sandbox
    cluster        (session) the kube.clusters.Cluster for its kubeconfig
    kube_namespace (function) a fresh namespace, deleted afterwards
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from kube.clusters import Cluster, cluster_list
from tests.sandbox.conftest import SandboxProcess


@pytest.fixture(scope="session")
def kube_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    proc = SandboxProcess(tmp_path_factory.mktemp("kube-sandbox"))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def cluster(kube_sandbox: SandboxProcess) -> Cluster:
    (found,) = cluster_list(kubeconfig=str(kube_sandbox.kubeconfig))
    return found


@pytest.fixture
def kube_namespace(cluster: Cluster) -> Iterator[str]:
    name = f"k-{uuid.uuid4().hex[:10]}"
    api = cluster.api_client()
    core = client.CoreV1Api(api)
    body: Any = {"metadata": {"name": name}}  # the client takes plain dicts
    core.create_namespace(body)
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        api.close()  # type: ignore[no-untyped-call]


def deployment_manifest(name: str, *, replicas: int = 1, version: str = "v1") -> dict[str, Any]:
    labels = {"app": name, "version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": f"greet:{version}"}]},
            },
        },
    }


def create_deployment(cluster: Cluster, namespace: str, name: str, **kwargs: Any) -> None:
    api = cluster.api_client()
    try:
        manifest: Any = deployment_manifest(name, **kwargs)
        client.AppsV1Api(api).create_namespaced_deployment(namespace, manifest)
    finally:
        api.close()  # type: ignore[no-untyped-call]


def eventually(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until predicate() is truthy and return it; the last value (falsy) when time runs out."""
    import time

    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
