"""Deployment, ReplicaSet and garbage collector against a real in-process Store.

No kubelet runs here: the tests mark pods Ready by writing pod status the way a kubelet does.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.apiserver import errors
from sandbox.apiserver.app import ApiServer
from sandbox.apiserver.storage import Store
from sandbox.controllers import controller_ref
from sandbox.controllers.deployment import resolve_fenceposts, workload_controllers
from sandbox.controllers.events import EventRecorder
from sandbox.hooks import Component, SandboxConfig, SandboxContext, UserInfo

Obj = dict[str, Any]
NS = "default"
SUFFIX = re.compile(r"^[bcdfghjklmnpqrstvwxz2456789]{5}$")


class Cluster:
    def __init__(self, store: Store, components: list[Component]) -> None:
        self.store = store
        self.components = components


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    store = Store.open(tmp_path, service_cidr="127.2.251.0/24")
    ctx = SandboxContext(config=SandboxConfig(state_dir=tmp_path), store=store)
    components = workload_controllers(ctx)
    for c in components:
        await c.start(ctx)
    try:
        yield Cluster(store, components)
    finally:
        for c in reversed(components):
            await c.stop()
        store.close()


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll the in-memory store until `check()` returns something truthy (the controllers are async)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        try:
            last = check()
        except (errors.APIError, KeyError, AssertionError):
            last = None
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def deployment(name: str, replicas: int = 3, image: str = "nginx:1.27", **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
            **spec,
        },
    }


def pods(store: Store, app: str) -> list[Obj]:
    return [e.obj for e in store.entries("pods", NS, label_selector=f"app={app}")]


def replicasets(store: Store, app: str) -> list[Obj]:
    return [e.obj for e in store.entries("replicasets", NS, label_selector=f"app={app}")]


def condition(obj: Obj, ctype: str) -> Obj | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), None)


def is_ready(pod: Obj) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


async def mark_ready(store: Store, app: str) -> int:
    """What the kubelet writes once a pod's containers pass their readiness probes."""
    n = 0
    for pod in pods(store, app):
        if is_ready(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        pod = await store.get("pods", NS, pod["metadata"]["name"])
        pod["status"] = {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"},
                {"type": "ContainersReady", "status": "True"},
            ],
            "podIP": "127.1.0.9",
        }
        try:
            await store.update("pods", pod, subresource="status")
            n += 1
        except errors.APIError as exc:
            if exc.code not in (404, 409):
                raise
    return n


async def events_for(store: Store, name: str, reason: str) -> list[Obj]:
    items, _ = await store.list("events", NS, field_selector=f"involvedObject.name={name}")
    return [e for e in items if e["reason"] == reason]


def test_fenceposts_round_like_kubernetes() -> None:
    assert resolve_fenceposts("25%", "25%", 3) == (1, 0)
    assert resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert resolve_fenceposts(0, 0, 3) == (0, 1)
    assert resolve_fenceposts("0%", "0%", 3) == (0, 1)
    assert resolve_fenceposts(2, "50%", 5) == (2, 2)


async def test_event_recorder_aggregates_identical_events(tmp_path: Path) -> None:
    store = Store.open(tmp_path, service_cidr="127.2.252.0/24")
    try:
        cm = await store.create("configmaps", {"metadata": {"name": "cm"}}, namespace=NS)
        rec = EventRecorder(store, "test-controller")
        first = await rec.record(cm, "Warning", "Odd", "one")
        again = await rec.record(cm, "Warning", "Odd", "one")
        other = await rec.record(cm, "Warning", "Odd", "two")
        assert first is not None and again is not None and other is not None
        assert again["metadata"]["name"] == first["metadata"]["name"]
        assert again["count"] == 2 and other["count"] == 1
        assert again["source"] == {"component": "test-controller", "host": "sandbox"}
        assert again["involvedObject"]["uid"] == cm["metadata"]["uid"]
        assert again["involvedObject"]["kind"] == "ConfigMap"
        assert len(await events_for(store, "cm", "Odd")) == 2
    finally:
        store.close()


async def test_deployment_creates_replicaset_and_pods_then_becomes_available(cluster: Cluster) -> None:
    store = cluster.store
    d = await store.create("deployments", deployment("web"), namespace=NS)
    rs_list = await eventually(lambda: replicasets(store, "web"))
    assert len(rs_list) == 1
    rs = rs_list[0]
    rs_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{rs_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": rs_hash}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == rs_hash
    ann = rs["metadata"]["annotations"]
    assert ann["deployment.kubernetes.io/revision"] == "1"
    assert ann["deployment.kubernetes.io/desired-replicas"] == "3"
    assert ann["deployment.kubernetes.io/max-replicas"] == "4"  # 3 + ceil(25% of 3)
    ref = controller_ref(rs)
    assert ref is not None and ref["uid"] == d["metadata"]["uid"] and ref["kind"] == "Deployment"

    got = await eventually(lambda: len(pods(store, "web")) == 3 and pods(store, "web"))
    for pod in got:
        name = pod["metadata"]["name"]
        assert name.startswith(f"web-{rs_hash}-") and SUFFIX.match(name.rsplit("-", 1)[1]), name
        assert pod["metadata"]["labels"]["pod-template-hash"] == rs_hash
        assert pod["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": rs["metadata"]["name"],
                "uid": rs["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    creates = await events_for(store, rs["metadata"]["name"], "SuccessfulCreate")
    assert sorted(e["message"] for e in creates) == sorted(
        f"Created pod: {p['metadata']['name']}" for p in got
    )
    scaling = await events_for(store, "web", "ScalingReplicaSet")
    assert [e["message"] for e in scaling] == [f"Scaled up replica set {rs['metadata']['name']} to 3 from 0"]

    # Not ready yet: Available False (3 - 0 maxUnavailable > 0 available), Progressing True.
    dep = await eventually(
        lambda: (
            condition(store.entry("deployments", NS, "web").obj, "Available")
            and store.entry("deployments", NS, "web").obj
        )
    )
    assert condition(dep, "Available")["reason"] == "MinimumReplicasUnavailable"  # type: ignore[index]

    assert await mark_ready(store, "web") == 3

    def available() -> Obj | None:
        obj = store.entry("deployments", NS, "web").obj
        prog = condition(obj, "Progressing")
        return obj if prog and prog["reason"] == "NewReplicaSetAvailable" else None

    dep = await eventually(available)
    status = dep["status"]
    assert (
        status["replicas"],
        status["updatedReplicas"],
        status["readyReplicas"],
        status["availableReplicas"],
    ) == (3, 3, 3, 3)
    assert status["observedGeneration"] == dep["metadata"]["generation"]
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    avail = condition(dep, "Available")
    assert avail is not None
    assert (avail["status"], avail["reason"], avail["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    prog = condition(dep, "Progressing")
    assert (
        prog is not None
        and prog["message"] == f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.'
    )
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    rs_now = store.entry("replicasets", NS, rs["metadata"]["name"]).obj
    assert rs_now["status"]["readyReplicas"] == 3 and rs_now["status"]["availableReplicas"] == 3


async def test_rolling_update_respects_surge_and_unavailable(cluster: Cluster) -> None:
    store = cluster.store
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    await store.create("deployments", deployment("roll", replicas=4, strategy=strategy), namespace=NS)
    await eventually(lambda: len(pods(store, "roll")) == 4)
    await mark_ready(store, "roll")
    await eventually(
        lambda: store.entry("deployments", NS, "roll").obj["status"].get("availableReplicas") == 4
    )
    first_rs = replicasets(store, "roll")[0]["metadata"]["name"]

    def bump(obj: Obj) -> Obj:
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
        return obj

    await store.patch("deployments", NS, "roll", bump)
    max_pods = 0
    min_ready = 4
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:
        live = [p for p in pods(store, "roll") if not p["metadata"].get("deletionTimestamp")]
        max_pods = max(max_pods, len(live))
        min_ready = min(min_ready, sum(1 for p in live if is_ready(p)))
        dep = store.entry("deployments", NS, "roll").obj
        st = dep.get("status") or {}
        prog = condition(dep, "Progressing")
        if (
            st.get("observedGeneration") == dep["metadata"]["generation"]
            and st.get("updatedReplicas") == 4
            and st.get("availableReplicas") == 4
            and st.get("replicas") == 4
            and prog is not None
            and prog["reason"] == "NewReplicaSetAvailable"
        ):
            break
        # The kubelet's part: new pods become ready a moment after they appear.
        await mark_ready(store, "roll")
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(
            f"rollout did not finish: {store.entry('deployments', NS, 'roll').obj['status']}"
        )
    assert max_pods <= 4 + 1
    assert min_ready >= 4 - 1
    rs_by_name = {rs["metadata"]["name"]: rs for rs in replicasets(store, "roll")}
    assert len(rs_by_name) == 2
    old = rs_by_name[first_rs]
    (new,) = [rs for n, rs in rs_by_name.items() if n != first_rs]
    assert old["spec"]["replicas"] == 0
    assert new["spec"]["replicas"] == 4
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    dep = store.entry("deployments", NS, "roll").obj
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.28" for p in pods(store, "roll"))
    messages = [e["message"] for e in await events_for(store, "roll", "ScalingReplicaSet")]
    assert f"Scaled down replica set {first_rs} to 0 from 1" in messages


async def test_scale_subresource_over_http(cluster: Cluster, tmp_path: Path) -> None:
    store = cluster.store
    await store.create("deployments", deployment("scaled", replicas=2), namespace=NS)
    await eventually(lambda: len(pods(store, "scaled")) == 2)
    api = ApiServer(store, token="t0ken", state_dir=tmp_path)
    async with TestClient(TestServer(api.app)) as client:
        resp = await client.patch(
            f"/apis/apps/v1/namespaces/{NS}/deployments/scaled/scale",
            json={"spec": {"replicas": 5}},
            headers={"Authorization": "Bearer t0ken", "Content-Type": "application/merge-patch+json"},
        )
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert body["kind"] == "Scale" and body["spec"]["replicas"] == 5
    await eventually(lambda: len(pods(store, "scaled")) == 5)
    (rs,) = replicasets(store, "scaled")
    assert rs["spec"]["replicas"] == 5
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"
    # Scale down: the not-ready pods go first.
    await mark_ready(store, "scaled")
    await store.patch("deployments", NS, "scaled", lambda o: {**o, "spec": {**o["spec"], "replicas": 1}})
    await eventually(
        lambda: len([p for p in pods(store, "scaled") if not p["metadata"].get("deletionTimestamp")]) == 1
    )
    deletes = await events_for(store, rs["metadata"]["name"], "SuccessfulDelete")
    assert len(deletes) == 4 and all(e["message"].startswith("Deleted pod: scaled-") for e in deletes)
    messages = [e["message"] for e in await events_for(store, "scaled", "ScalingReplicaSet")]
    assert f"Scaled down replica set {rs['metadata']['name']} to 1 from 5" in messages


class DenyPods:
    """A validating admission plug-in that forbids pod creation while `deny` is set."""

    def __init__(self) -> None:
        self.deny = True
        self.rejected = 0

    async def admit(self, op: str, resource: str, obj: Obj | None, old: Obj | None, user: UserInfo) -> None:
        if self.deny and op == "CREATE" and resource == "pods" and obj is not None:
            self.rejected += 1
            raise errors.forbidden(
                "pods",
                "",
                obj["metadata"]["name"],
                "exceeded quota: compute, requested: pods=1, used: pods=0, limited: pods=0",
            )


async def test_failed_create_event_condition_and_recovery(cluster: Cluster) -> None:
    store = cluster.store
    plugin = DenyPods()
    store.add_admission(plugin, validating=True)
    await store.create("deployments", deployment("quota", replicas=2), namespace=NS)
    (rs,) = await eventually(lambda: replicasets(store, "quota"))
    rs_name = rs["metadata"]["name"]
    failed: list[Obj] = []
    for _ in range(200):
        failed = await events_for(store, rs_name, "FailedCreate")
        if failed:
            break
        await asyncio.sleep(0.02)
    assert failed, "no FailedCreate event"
    ev = failed[0]
    assert ev["type"] == "Warning"
    assert re.fullmatch(
        rf'Error creating: pods "{rs_name}-[a-z0-9]{{5}}" is forbidden: exceeded quota: compute, '
        r"requested: pods=1, used: pods=0, limited: pods=0",
        ev["message"],
    ), ev["message"]

    def rs_failure() -> Obj | None:
        return condition(store.entry("replicasets", NS, rs_name).obj, "ReplicaFailure")

    cond = await eventually(rs_failure)
    assert cond["status"] == "True" and cond["reason"] == "FailedCreate"
    failed = await events_for(store, rs_name, "FailedCreate")
    assert cond["message"] in {e["message"].removeprefix("Error creating: ") for e in failed}
    dep_cond = await eventually(
        lambda: condition(store.entry("deployments", NS, "quota").obj, "ReplicaFailure")
    )
    assert dep_cond["reason"] == "FailedCreate" and dep_cond["message"].endswith("limited: pods=0")
    assert pods(store, "quota") == []

    plugin.deny = False  # e.g. quota raised: the backoff retry (≤ 2 s by now) succeeds
    await eventually(lambda: len(pods(store, "quota")) == 2, timeout=10)
    await eventually(lambda: rs_failure() is None)
    await eventually(lambda: condition(store.entry("deployments", NS, "quota").obj, "ReplicaFailure") is None)
    # Backoff, not a hot loop: a handful of rejections in the seconds it was denied.
    assert plugin.rejected < 10


async def test_quota_freed_by_pod_deletion_retries_at_once(cluster: Cluster) -> None:
    store = cluster.store
    plugin = DenyPods()
    store.add_admission(plugin, validating=True)
    await store.create("deployments", deployment("later", replicas=1), namespace=NS)
    (rs,) = await eventually(lambda: replicasets(store, "later"))
    rs_name = rs["metadata"]["name"]
    await eventually(lambda: condition(store.entry("replicasets", NS, rs_name).obj, "ReplicaFailure"))
    # Let the backoff grow past a few seconds, then free "quota" by deleting another pod.
    controller = cluster.components[1]
    key = (NS, rs_name)
    await eventually(lambda: controller._failing.get(key, 0) >= 3, timeout=10)  # type: ignore[attr-defined]
    plugin.deny = False
    other = await store.create(
        "pods",
        {"metadata": {"name": "bystander"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        namespace=NS,
    )
    await store.delete("pods", NS, other["metadata"]["name"])
    await eventually(lambda: len(pods(store, "later")) == 1, timeout=1.5)


async def _delete_and_check(cluster: Cluster, name: str, policy: str) -> None:
    store = cluster.store
    await store.create("deployments", deployment(name, replicas=2), namespace=NS)
    await eventually(lambda: len(pods(store, name)) == 2)
    await store.delete("deployments", NS, name, propagation_policy=policy)
    await eventually(lambda: not replicasets(store, name) and not pods(store, name))

    def gone() -> bool:
        try:
            store.entry("deployments", NS, name)
        except errors.APIError as exc:
            return exc.code == 404
        return False

    await eventually(gone)


async def test_background_deletion_removes_replicasets_and_pods(cluster: Cluster) -> None:
    await _delete_and_check(cluster, "bg", "Background")


async def test_foreground_deletion_keeps_owner_until_dependents_are_gone(cluster: Cluster) -> None:
    store = cluster.store
    # With the GC's finalizer announced, the owner stays (deletionTimestamp) while dependents exist.
    await store.create("deployments", deployment("fg", replicas=2), namespace=NS)
    await eventually(lambda: len(pods(store, "fg")) == 2)
    marked = await store.delete("deployments", NS, "fg", propagation_policy="Foreground")
    assert marked["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in marked["metadata"]["finalizers"]
    await eventually(lambda: not replicasets(store, "fg") and not pods(store, "fg"))
    await eventually(lambda: not store.entries("deployments", NS, field_selector="metadata.name=fg"))


async def test_orphan_deletion_leaves_dependents_without_owner(cluster: Cluster) -> None:
    store = cluster.store
    await store.create("deployments", deployment("orph", replicas=2), namespace=NS)
    await eventually(lambda: len(pods(store, "orph")) == 2)
    (rs,) = replicasets(store, "orph")
    await store.delete("deployments", NS, "orph", propagation_policy="Orphan")
    await eventually(lambda: not store.entries("deployments", NS, field_selector="metadata.name=orph"))
    await eventually(lambda: not replicasets(store, "orph")[0]["metadata"].get("ownerReferences"))
    # The ReplicaSet keeps its pods (it was orphaned, not deleted) and still owns them.
    await asyncio.sleep(0.3)
    assert [r["metadata"]["uid"] for r in replicasets(store, "orph")] == [rs["metadata"]["uid"]]
    live = pods(store, "orph")
    assert len(live) == 2
    assert all(controller_ref(p)["uid"] == rs["metadata"]["uid"] for p in live)  # type: ignore[index]


async def test_collects_dependents_whose_owner_vanished_while_down(tmp_path: Path) -> None:
    """After a restart the GC deletes objects whose owner uid no longer exists."""
    store = Store.open(tmp_path, service_cidr="127.2.253.0/24")
    try:
        ghost = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "gone",
            "uid": "00000000-0000-0000-0000-000000000000",
            "controller": True,
            "blockOwnerDeletion": True,
        }
        await store.create(
            "pods",
            {
                "metadata": {"name": "stray", "labels": {"x": "y"}, "ownerReferences": [ghost]},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
            namespace=NS,
        )
        ctx = SandboxContext(config=SandboxConfig(state_dir=tmp_path), store=store)
        components = workload_controllers(ctx)
        for c in components:
            await c.start(ctx)
        try:
            await eventually(lambda: not store.entries("pods", NS, field_selector="metadata.name=stray"))
        finally:
            for c in reversed(components):
                await c.stop()
    finally:
        store.close()


def set_image(image: str) -> Callable[[Obj], Obj]:
    def mutate(obj: Obj) -> Obj:
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
        return obj

    return mutate


def rollout_done(store: Store, name: str) -> bool:
    """`kubectl rollout status`'s test."""
    d = store.entry("deployments", NS, name).obj
    st = d.get("status") or {}
    want = d["spec"]["replicas"]
    return bool(
        st.get("observedGeneration", 0) >= d["metadata"]["generation"]
        and st.get("updatedReplicas") == want
        and st.get("replicas") == want
        and st.get("availableReplicas") == want
    )


async def test_recreate_never_runs_old_and_new_pods_together(cluster: Cluster) -> None:
    store = cluster.store
    await store.create(
        "deployments", deployment("rec", replicas=2, strategy={"type": "Recreate"}), namespace=NS
    )
    await eventually(lambda: len(pods(store, "rec")) == 2)
    await mark_ready(store, "rec")
    await eventually(lambda: rollout_done(store, "rec"))
    await store.patch("deployments", NS, "rec", set_image("nginx:1.28"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (
        not rollout_done(store, "rec")
        or pods(store, "rec")[0]["spec"]["containers"][0]["image"] != "nginx:1.28"
    ):
        images = {p["spec"]["containers"][0]["image"] for p in pods(store, "rec")}
        assert len(images) <= 1, images
        assert loop.time() < deadline, store.entry("deployments", NS, "rec").obj["status"]
        await mark_ready(store, "rec")
        await asyncio.sleep(0.02)


async def test_rollback_reuses_the_old_replicaset_and_history_is_limited(cluster: Cluster) -> None:
    store = cluster.store
    await store.create("deployments", deployment("undo", replicas=1), namespace=NS)
    await eventually(lambda: len(pods(store, "undo")) == 1)
    for image in ("nginx:1.28", "nginx:1.27"):  # the second is what `kubectl rollout undo` patches in
        await store.patch("deployments", NS, "undo", set_image(image))
        while not rollout_done(store, "undo"):
            await mark_ready(store, "undo")
            await asyncio.sleep(0.02)
    found = replicasets(store, "undo")
    by_image = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs for rs in found}
    assert set(by_image) == {"nginx:1.27", "nginx:1.28"}
    # Revision 1 came back as revision 3, its old number kept in revision-history.
    current = by_image["nginx:1.27"]["metadata"]["annotations"]
    assert current["deployment.kubernetes.io/revision"] == "3"
    assert current["deployment.kubernetes.io/revision-history"] == "1"
    assert by_image["nginx:1.28"]["spec"]["replicas"] == 0
    d = store.entry("deployments", NS, "undo").obj
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"

    def no_history(obj: Obj) -> Obj:
        obj["spec"]["revisionHistoryLimit"] = 0
        return obj

    await store.patch("deployments", NS, "undo", no_history)
    await eventually(
        lambda: (
            [rs["metadata"]["name"] for rs in replicasets(store, "undo")]
            == [by_image["nginx:1.27"]["metadata"]["name"]]
        )
    )


async def test_paused_deployment_does_not_roll_out(cluster: Cluster) -> None:
    store = cluster.store
    await store.create("deployments", deployment("pz", replicas=1), namespace=NS)
    await eventually(lambda: len(pods(store, "pz")) == 1)

    def pause(obj: Obj) -> Obj:
        obj["spec"]["paused"] = True
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
        return obj

    await store.patch("deployments", NS, "pz", pause)
    prog = await eventually(
        lambda: (
            (c := condition(store.entry("deployments", NS, "pz").obj, "Progressing"))
            and c["reason"] == "DeploymentPaused"
            and c
        )
    )
    assert (prog["status"], prog["message"]) == ("Unknown", "Deployment is paused")
    assert len(replicasets(store, "pz")) == 1
    await store.patch("deployments", NS, "pz", lambda o: {**o, "spec": {**o["spec"], "paused": False}})
    await eventually(lambda: len(replicasets(store, "pz")) == 2)
