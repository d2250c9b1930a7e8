"""Watch semantics and persistence, against real sandboxes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch

from tests.sandbox.conftest import SandboxProcess, watch_events

# Every namespace gets ConfigMap kube-root-ca.crt from the namespace controller (as in Kubernetes);
# watches that mean "the test's own configmaps" leave it out by name.
NOT_ROOT_CA = "metadata.name!=kube-root-ca.crt"


def _cm(name: str, labels: dict[str, str] | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data={"k": "v"})


def test_watch_from_recorded_version_sees_added_modified_deleted_deleted(
    api_client: client.ApiClient, namespace: str
) -> None:
    core: Any = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, _cm("before", {"w": "1"}))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version

    core.create_namespaced_config_map(namespace, _cm("after", {"w": "1"}))
    core.patch_namespaced_config_map("after", namespace, {"data": {"k": "changed"}})
    core.delete_collection_namespaced_config_map(namespace, label_selector="w=1")

    seen = []
    w: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for event in w.stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=rv,
        field_selector=NOT_ROOT_CA,
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 4:
            w.stop()
    assert seen == [
        ("ADDED", "after"),
        ("MODIFIED", "after"),
        ("DELETED", "after"),
        ("DELETED", "before"),
    ] or seen == [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "before"), ("DELETED", "after")]


def test_live_watch_delivers_changes_and_label_transitions(sandbox: SandboxProcess, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    resp = sandbox.request(
        "GET", path + "?watch=true&labelSelector=tier%3Dfront&timeoutSeconds=10", preload=False
    )
    got: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: got.extend(watch_events(resp, 3)))
    reader.start()
    sandbox.request("POST", path, {"metadata": {"name": "x", "labels": {"tier": "front"}}})
    sandbox.request("PATCH", path + "/x", {"data": {"a": "b"}}, content_type="application/merge-patch+json")
    sandbox.request(
        "PATCH",
        path + "/x",
        {"metadata": {"labels": {"tier": "back"}}},
        content_type="application/merge-patch+json",
    )
    reader.join(15)
    # Leaving the selector is a DELETED for this watcher, carrying the object's new state.
    assert [e["type"] for e in got] == ["ADDED", "MODIFIED", "DELETED"]
    assert got[2]["object"]["metadata"]["labels"] == {"tier": "back"}


def test_initial_events_then_bookmark_and_timeout(sandbox: SandboxProcess, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    for name in ("a", "b"):
        sandbox.request("POST", path, {"metadata": {"name": name}})
    resp = sandbox.request(
        "GET",
        path
        + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
        + f"&fieldSelector={NOT_ROOT_CA}",
        preload=False,
    )
    events = watch_events(resp)
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events[:2]] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]
    assert events[2]["type"] == "BOOKMARK"
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    # The stream ends by itself after timeoutSeconds, with a closing bookmark.
    assert events[-1]["type"] == "BOOKMARK" and events[-1]["object"]["kind"] == "ConfigMap"


def test_watch_rv_zero_starts_with_current_state_as_tables(sandbox: SandboxProcess, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    sandbox.request("POST", path, {"metadata": {"name": "t1"}, "data": {"a": "1"}})
    resp = sandbox.request(
        "GET",
        path + f"?watch=true&resourceVersion=0&timeoutSeconds=1&fieldSelector={NOT_ROOT_CA}",
        preload=False,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    events = watch_events(resp)
    added = [e for e in events if e["type"] == "ADDED"]
    assert len(added) == 1 and events[0] is added[0]
    assert added[0]["object"]["kind"] == "Table"
    assert [row["cells"][0] for row in added[0]["object"]["rows"]] == ["t1"]


def test_too_old_version_is_410_expired_and_state_survives_kill(
    start_sandbox: Callable[..., SandboxProcess],
) -> None:
    sbx = start_sandbox(None, "--watch-window", "5")
    path = "/api/v1/namespaces/default/configmaps"
    first = json.loads(sbx.request("POST", path, {"metadata": {"name": "c0"}, "data": {"n": "0"}}).data)
    for i in range(1, 8):
        assert sbx.request("POST", path, {"metadata": {"name": f"c{i}"}, "data": {"n": str(i)}}).status == 201
    old_rv = first["metadata"]["resourceVersion"]
    events = watch_events(sbx.request("GET", f"{path}?watch=true&resourceVersion={old_rv}", preload=False))
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {old_rv} (")

    before = json.loads(sbx.request("GET", path).data)
    sbx.stop(kill=True)  # SIGKILL: only committed transactions count
    sbx.start()
    after = json.loads(sbx.request("GET", path).data)
    assert [c["metadata"]["name"] for c in after["items"]] == [c["metadata"]["name"] for c in before["items"]]
    assert [c["data"] for c in after["items"]] == [c["data"] for c in before["items"]]
    made = json.loads(sbx.request("POST", path, {"metadata": {"name": "later"}}).data)
    assert int(made["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    # Versions from before the restart are outside the new window.
    events = watch_events(sbx.request("GET", f"{path}?watch=true&resourceVersion={old_rv}", preload=False))
    assert events[0]["type"] == "ERROR"
