"""The watch hub against a real sandbox: sees changes, stays quiet when idle, relists after a restart."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kube.clusters import Cluster, cluster_list
from kube.watching import RELISTED, Change, WatchHub
from tests.kube.conftest import create_deployment, eventually
from tests.sandbox.conftest import SandboxProcess


@pytest.fixture
def hub(cluster: Cluster) -> Iterator[tuple[WatchHub, list[Change]]]:
    changes: list[Change] = []
    # A short server-side watch timeout makes idle re-watches happen within the test.
    watch_hub = WatchHub([cluster], on_change=changes.append, watch_timeout=1.0)
    try:
        yield watch_hub, changes
    finally:
        watch_hub.stop()


def _replicas(hub: WatchHub, cluster: str, namespace: str, name: str) -> int | None:
    obj = hub.informer(cluster, "deployments").get(namespace, name)
    return None if obj is None else int(obj["spec"]["replicas"])


def test_hub_sees_kubectl_scale(
    hub: tuple[WatchHub, list[Change]], cluster: Cluster, kube_sandbox: SandboxProcess, kube_namespace: str
) -> None:
    watch_hub, changes = hub
    informer = watch_hub.informer(cluster.name, "deployments")
    assert informer.wait_synced(10)
    create_deployment(cluster, kube_namespace, "web", replicas=2)
    assert eventually(lambda: _replicas(watch_hub, cluster.name, kube_namespace, "web") == 2)

    kube_sandbox.kubectl("scale", "deployment/web", "--replicas=5", "-n", kube_namespace)
    assert eventually(lambda: _replicas(watch_hub, cluster.name, kube_namespace, "web") == 5, timeout=5)
    assert Change(cluster.name, "deployments", "MODIFIED", kube_namespace, "web") in changes
    assert informer.state().connected


def test_idle_hub_makes_no_list_calls(hub: tuple[WatchHub, list[Change]], cluster: Cluster) -> None:
    watch_hub, _ = hub
    informers = watch_hub.ensure(cluster.name)
    assert all(i.wait_synced(10) for i in informers)
    lists_before = watch_hub.list_calls
    watches_before = sum(i.state().watch_calls for i in informers)
    time.sleep(3)  # three server-side watch timeouts: each informer re-watches from its resourceVersion
    assert watch_hub.list_calls == lists_before == len(informers)
    assert sum(i.state().watch_calls for i in informers) > watches_before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_relists_after_the_sandbox_restarts(tmp_path: Path) -> None:
    proc = SandboxProcess(tmp_path / "restart")
    proc.start()
    watch_hub: WatchHub | None = None
    try:
        (cluster,) = cluster_list(kubeconfig=str(proc.kubeconfig))
        watch_hub = WatchHub([cluster], watch_timeout=30.0, backoff_base=0.1, backoff_max=0.5)
        informer = watch_hub.informer(cluster.name, "deployments")
        assert informer.wait_synced(10)
        create_deployment(cluster, "default", "survivor", replicas=1)
        assert eventually(lambda: _replicas(watch_hub, cluster.name, "default", "survivor") == 1)

        proc.stop()
        assert eventually(lambda: informer.state().reconnecting_since is not None, timeout=10)
        down = informer.state()
        assert not down.connected and down.last_error
        assert informer.get("default", "survivor") is not None  # stale, but kept (and marked by the UI)

        # Same state dir, new port: the kubeconfig is rewritten and read again on reconnect.
        proc.start()
        assert eventually(lambda: informer.state().connected, timeout=15)
        up = informer.state()
        assert up.list_calls >= 2 and up.reconnects >= 1 and up.reconnecting_since is None
        proc.kubectl("scale", "deployment/survivor", "--replicas=3", "-n", "default")
        assert eventually(lambda: _replicas(watch_hub, cluster.name, "default", "survivor") == 3, timeout=5)
    finally:
        if watch_hub is not None:
            watch_hub.stop()
        proc.stop()  # SIGTERM: the kubelet stops its pods (a SIGKILL could orphan one it was starting)


def test_relist_notifies_and_replaces_the_cache(cluster: Cluster, kube_namespace: str) -> None:
    changes: list[Change] = []
    create_deployment(cluster, kube_namespace, "listed", replicas=1)
    watch_hub = WatchHub([cluster], on_change=changes.append)
    try:
        informer = watch_hub.informer(cluster.name, "deployments")
        assert informer.wait_synced(10)
        assert informer.get(kube_namespace, "listed") is not None
        assert Change(cluster.name, "deployments", RELISTED) in changes
        assert [o["metadata"]["name"] for o in informer.items(kube_namespace)] == ["listed"]
    finally:
        watch_hub.stop()
