"""The ReplicaSet controller (`pkg/controller/replicaset`): keeps `spec.replicas` pods matching the selector.

Pods are created from the template with ``generateName: <rs>-`` and a controller ownerReference; orphans
that match the selector are adopted, owned pods that stop matching are released. Surplus pods are deleted
preferring unscheduled, pending, not-ready and newest ones. A failing create (quota, LimitRange, any
admission) records ``FailedCreate`` with the API's message verbatim, sets the ``ReplicaFailure``
condition and retries with exponential backoff (1 s doubling to 30 s); a pod deleted or a LimitRange /
ResourceQuota changed in the namespace retries at once, as quota freed by them may let the create pass.
"""

from __future__ import annotations

import copy
import datetime
import logging
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.selectors import SelectorError, label_selector_from_spec
from sandbox.apiserver.storage import Entry, Store, WatchEvent, now_rfc3339
from sandbox.controllers import (
    TaskSet,
    WorkQueue,
    controller_ref,
    list_and_watch,
    owner_reference,
    patch_owner_references,
    run_workers,
)
from sandbox.controllers.events import EventRecorder
from sandbox.hooks import SYSTEM, SandboxContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]

COMPONENT = "replicaset-controller"
# Kubernetes creates at most this many pods per sync (burstReplicas).
BURST_REPLICAS = 500
FAILED_CREATE_BASE = 1.0
FAILED_CREATE_MAX = 30.0


def parse_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        try:
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None


def pod_ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return cond
    return None


def pod_is_ready(pod: Obj) -> bool:
    cond = pod_ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def pod_available_in(pod: Obj, min_ready_seconds: int, now: datetime.datetime) -> float | None:
    """podutil.IsPodAvailable: 0 when available now, seconds until it will be, None when not ready."""
    cond = pod_ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    if min_ready_seconds <= 0:
        return 0.0
    since = parse_time(cond.get("lastTransitionTime"))
    if since is None:
        return 0.0
    remaining = (since + datetime.timedelta(seconds=min_ready_seconds) - now).total_seconds()
    return max(remaining, 0.0)


def pod_is_active(pod: Obj) -> bool:
    """controller.IsPodActive: not Succeeded/Failed and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def _deletion_rank(pod: Obj) -> tuple[int, int, int, float]:
    """controller.ActivePods ordering, the pods to delete first sorting first."""
    status = pod.get("status") or {}
    unassigned = 0 if pod.get("spec", {}).get("nodeName") else -1
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", ""), 0)
    ready = 1 if pod_is_ready(pod) else 0
    created = parse_time(pod["metadata"].get("creationTimestamp"))
    newer_first = -(created.timestamp() if created else 0.0)
    return (unassigned, phase_rank, ready, newer_first)


def get_condition(status: Obj, ctype: str) -> Obj | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            found: Obj = cond
            return found
    return None


class ReplicaSetController:
    """Component: ``await ReplicaSetController().start(ctx)`` / ``await stop()``."""

    def __init__(self) -> None:
        self.queue = WorkQueue(base_delay=0.05, max_delay=30.0)
        self._tasks = TaskSet()
        self._store: Store | None = None
        self.recorder: EventRecorder | None = None
        # RS keys whose last sync failed to create pods, by namespace.
        self._failing: dict[Key, int] = {}

    @property
    def store(self) -> Store:
        assert self._store is not None, "start() first"
        return self._store

    async def start(self, ctx: SandboxContext) -> None:
        self._store = ctx.store
        self.recorder = EventRecorder(ctx.store, COMPONENT)
        self._tasks.spawn(
            list_and_watch(self.store, "replicasets", self._on_rs_list, self._on_rs_event), "rs-watch"
        )
        self._tasks.spawn(list_and_watch(self.store, "pods", lambda _e: None, self._on_pod_event), "rs-pods")
        for quota_kind in ("limitranges", "resourcequotas"):
            self._tasks.spawn(
                list_and_watch(self.store, quota_kind, lambda _e: None, self._on_quota_event),
                f"rs-{quota_kind}",
            )
        self._tasks.spawn(run_workers(self.queue, self.sync, COMPONENT), "rs-worker")

    async def stop(self) -> None:
        await self._tasks.cancel()
        self.queue.shutdown()

    # -- event handlers ---------------------------------------------------------------------------

    @staticmethod
    def _key(obj: Obj) -> Key:
        return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    def _on_rs_list(self, entries: list[Entry]) -> None:
        for e in entries:
            self.queue.add(self._key(e.obj))

    def _on_rs_event(self, ev: WatchEvent) -> None:
        self.queue.add((ev.namespace, ev.name))

    def _owners_of(self, pod: Obj) -> list[Key]:
        ns = pod["metadata"].get("namespace", "")
        ref = controller_ref(pod)
        if ref is not None:
            if ref.get("kind") != "ReplicaSet":
                return []
            return [(ns, ref["name"])]
        # An orphan: every ReplicaSet whose selector matches may adopt it.
        labels = pod["metadata"].get("labels") or {}
        out = []
        for e in self.store.entries("replicasets", ns):
            try:
                sel = label_selector_from_spec(e.obj.get("spec", {}).get("selector"))
            except SelectorError:
                continue
            if not sel.empty() and sel.matches(labels):
                out.append(self._key(e.obj))
        return out

    def _on_pod_event(self, ev: WatchEvent) -> None:
        keys = set(self._owners_of(ev.obj))
        if ev.old is not None:
            keys.update(self._owners_of(ev.old))
        for key in keys:
            self.queue.add(key)
        if ev.type == "DELETED":
            self._retry_failing(ev.namespace)

    def _on_quota_event(self, ev: WatchEvent) -> None:
        self._retry_failing(ev.namespace)

    def _retry_failing(self, namespace: str) -> None:
        for key in list(self._failing):
            if key[0] == namespace:
                self.queue.add(key)

    # -- sync -------------------------------------------------------------------------------------

    async def sync(self, key: Key) -> None:
        ns, name = key
        try:
            rs = self.store.entry("replicasets", ns, name).obj
        except APIError as exc:
            if exc.code == 404:
                self._failing.pop(key, None)
                self.queue.forget(key)
                return
            raise
        try:
            selector = label_selector_from_spec(rs.get("spec", {}).get("selector"))
        except SelectorError as exc:
            log.warning("replicaset %s/%s: invalid selector: %s", ns, name, exc)
            return
        deleting = bool(rs["metadata"].get("deletionTimestamp"))
        pods = await self._claim_pods(rs, selector, adopt=not deleting and not selector.empty())
        active = [p for p in pods if pod_is_active(p)]
        create_error: APIError | None = None
        if not deleting:
            create_error = await self._manage_replicas(rs, active)
            # Re-read: the pods we created or deleted are already in the cache.
            rs = self.store.entry("replicasets", ns, name).obj
            pods = await self._claim_pods(rs, selector, adopt=False)
            active = [p for p in pods if pod_is_active(p)]
        await self._update_status(rs, pods, active, create_error)
        if create_error is not None:
            n = self._failing.get(key, 0)
            self._failing[key] = n + 1
            self.queue.add_after(key, min(FAILED_CREATE_BASE * (2**n), FAILED_CREATE_MAX))
        else:
            self._failing.pop(key, None)
            self.queue.forget(key)

    async def _claim_pods(self, rs: Obj, selector: Any, *, adopt: bool) -> list[Obj]:
        """ControllerRefManager.ClaimPods: owned and matching, adopted orphans; releases the rest."""
        ns = rs["metadata"]["namespace"]
        uid = rs["metadata"]["uid"]
        out: list[Obj] = []
        for e in self.store.entries("pods", ns):
            pod = e.obj
            ref = controller_ref(pod)
            labels = pod["metadata"].get("labels") or {}
            matches = not selector.empty() and selector.matches(labels)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    out.append(pod)
                elif not pod["metadata"].get("deletionTimestamp"):
                    await patch_owner_references(self.store, "pods", pod, release_uid=uid, add=None)
                continue
            if adopt and matches and not pod["metadata"].get("deletionTimestamp"):
                adopted = await patch_owner_references(
                    self.store, "pods", pod, release_uid=None, add=owner_reference(rs)
                )
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _manage_replicas(self, rs: Obj, active: list[Obj]) -> APIError | None:
        assert self.recorder is not None
        want = int(rs.get("spec", {}).get("replicas", 1) or 0)
        diff = len(active) - want
        if diff < 0:
            for _ in range(min(-diff, BURST_REPLICAS)):
                try:
                    pod = await self.store.create(
                        "pods",
                        self._pod_from_template(rs),
                        namespace=rs["metadata"]["namespace"],
                        user=SYSTEM,
                    )
                except APIError as exc:
                    if exc.code == 409 and exc.reason == "AlreadyExists":
                        continue  # a generateName collision: the next name is another draw
                    await self.recorder.warning(rs, "FailedCreate", f"Error creating: {exc.message}")
                    return exc
                await self.recorder.normal(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        elif diff > 0:
            victims = sorted(active, key=_deletion_rank)[: min(diff, BURST_REPLICAS)]
            for pod in victims:
                meta = pod["metadata"]
                try:
                    await self.store.delete(
                        "pods",
                        meta["namespace"],
                        meta["name"],
                        preconditions={"uid": meta["uid"]},
                        user=SYSTEM,
                    )
                except APIError as exc:
                    if exc.code == 404:
                        continue
                    await self.recorder.warning(rs, "FailedDelete", f"Error deleting: {exc.message}")
                    raise
                await self.recorder.normal(rs, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        return None

    @staticmethod
    def _pod_from_template(rs: Obj) -> Obj:
        template = copy.deepcopy(rs.get("spec", {}).get("template") or {})
        tmeta = template.get("metadata") or {}
        meta: Obj = {"generateName": f"{rs['metadata']['name']}-", "ownerReferences": [owner_reference(rs)]}
        for field in ("labels", "annotations", "finalizers"):
            if tmeta.get(field):
                meta[field] = tmeta[field]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}

    async def _update_status(
        self, rs: Obj, pods: list[Obj], active: list[Obj], create_error: APIError | None
    ) -> None:
        spec = rs.get("spec", {})
        min_ready = int(spec.get("minReadySeconds") or 0)
        template_labels = (spec.get("template") or {}).get("metadata", {}).get("labels") or {}
        now = datetime.datetime.now(datetime.UTC)
        ready = available = fully_labeled = 0
        soonest: float | None = None
        for pod in active:
            labels = pod["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in template_labels.items()):
                fully_labeled += 1
            wait = pod_available_in(pod, min_ready, now)
            if wait is None:
                continue
            ready += 1
            if wait <= 0:
                available += 1
            elif soonest is None or wait < soonest:
                soonest = wait
        old_status = rs.get("status") or {}
        status: Obj = {
            "replicas": len(active),
            "fullyLabeledReplicas": fully_labeled,
            "readyReplicas": ready,
            "availableReplicas": available,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        # Kubernetes omits zero counts (omitempty) except replicas.
        status = {k: v for k, v in status.items() if v or k == "replicas"}
        conditions = [c for c in old_status.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        current_failure = get_condition(old_status, "ReplicaFailure")
        if create_error is not None:
            # Kubernetes sets the condition once and keeps its first message while failures go on.
            if current_failure is not None:
                conditions.append(current_failure)
            else:
                conditions.append(
                    {
                        "type": "ReplicaFailure",
                        "status": "True",
                        "lastTransitionTime": now_rfc3339(),
                        "reason": "FailedCreate",
                        "message": create_error.message,
                    }
                )
        if conditions:
            status["conditions"] = conditions
        if status != old_status:
            meta = rs["metadata"]
            body = {"metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "status": status}
            try:
                await self.store.update("replicasets", body, subresource="status", user=SYSTEM)
            except APIError as exc:
                if exc.code != 404:
                    raise
        if soonest is not None:
            self.queue.add_after(self._key(rs), soonest + 0.05)


def replicaset_controller(ctx: SandboxContext) -> ReplicaSetController:
    return ReplicaSetController()


__all__ = ["ReplicaSetController", "pod_is_active", "pod_is_ready", "replicaset_controller"]
