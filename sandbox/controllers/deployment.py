"""The Deployment controller (`pkg/controller/deployment`): ReplicaSets per pod-template-hash, RollingUpdate
and Recreate, revisions, proportional scaling, history cleanup, status and conditions.

``workload_controllers(ctx)`` returns the components of this part of the sandbox in start order:
the garbage collector, the ReplicaSet controller and the Deployment controller.
"""

from __future__ import annotations

import copy
import datetime
import logging
import math
from typing import Any

from sandbox.admission.defaults import pod_template_hash, without_nulls
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
from sandbox.controllers.gc import GarbageCollector
from sandbox.controllers.replicaset import ReplicaSetController, get_condition, parse_time
from sandbox.hooks import SYSTEM, Component, SandboxContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Annotations of the Deployment that are not copied to its ReplicaSets.
_SKIP_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
MAX_INT32 = 2**31 - 1


# -- intstr and fenceposts (deployment_util.go) ------------------------------------------------------


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        pct = int(text[:-1])
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        # Validation forbids both zero; with percentages rounding can get there, so allow one.
        unavailable = 1
    return surge, unavailable


def _rolling(d: Obj) -> Obj | None:
    strategy = d.get("spec", {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {"maxSurge": "25%", "maxUnavailable": "25%"}


def replicas_of(obj: Obj) -> int:
    value = obj.get("spec", {}).get("replicas")
    return 1 if value is None else int(value)


def max_surge(d: Obj) -> int:
    ru = _rolling(d)
    if ru is None:
        return 0
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas_of(d))[0]


def max_unavailable(d: Obj) -> int:
    ru = _rolling(d)
    if ru is None or replicas_of(d) == 0:
        return 0
    unavailable = resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas_of(d))[1]
    return min(unavailable, replicas_of(d))


def _status_int(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def _revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _created(obj: Obj) -> tuple[float, str]:
    t = parse_time(obj["metadata"].get("creationTimestamp"))
    return (t.timestamp() if t else 0.0, obj["metadata"]["name"])


def template_without_hash(template: Obj | None) -> Obj:
    t: Obj = without_nulls(template or {})  # a copy; nulls compare as absent (see pod_template_hash)
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
        if not labels:
            t["metadata"].pop("labels")
    if "metadata" in t and not t["metadata"]:
        t.pop("metadata")
    return t


def new_condition(ctype: str, status: str, reason: str, message: str) -> Obj:
    now = now_rfc3339()
    return {
        "type": ctype,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def set_condition(status: Obj, cond: Obj) -> None:
    """deploymentutil.SetDeploymentCondition: same status and reason → unchanged; else replaced at the end
    (keeping lastTransitionTime when the status did not change)."""
    conditions = status.get("conditions") or []
    current = next((c for c in conditions if c.get("type") == cond["type"]), None)
    if (
        current is not None
        and current.get("status") == cond["status"]
        and current.get("reason") == cond["reason"]
    ):
        return
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime", cond["lastTransitionTime"])
    status["conditions"] = [c for c in conditions if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: Obj, ctype: str) -> None:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = replicas_of(d)
    return (
        int(status.get("updatedReplicas") or 0) == want
        and int(status.get("replicas") or 0) == want
        and int(status.get("availableReplicas") or 0) == want
        and int(status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 1)
    )


def _has_progress_deadline(d: Obj) -> bool:
    deadline = d.get("spec", {}).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != MAX_INT32


class DeploymentController:
    """Component: ``await DeploymentController().start(ctx)`` / ``await stop()``."""

    def __init__(self) -> None:
        self.queue = WorkQueue(base_delay=0.05, max_delay=30.0)
        self._tasks = TaskSet()
        self._store: Store | None = None
        self.recorder: EventRecorder | None = None

    @property
    def store(self) -> Store:
        assert self._store is not None, "start() first"
        return self._store

    async def start(self, ctx: SandboxContext) -> None:
        self._store = ctx.store
        self.recorder = EventRecorder(ctx.store, COMPONENT)
        self._tasks.spawn(
            list_and_watch(self.store, "deployments", self._on_list, self._on_deployment_event),
            "deploy-watch",
        )
        self._tasks.spawn(
            list_and_watch(self.store, "replicasets", lambda _e: None, self._on_rs_event), "deploy-rs"
        )
        self._tasks.spawn(
            list_and_watch(self.store, "pods", lambda _e: None, self._on_pod_event), "deploy-pods"
        )
        self._tasks.spawn(run_workers(self.queue, self.sync, COMPONENT), "deploy-worker")

    async def stop(self) -> None:
        await self._tasks.cancel()
        self.queue.shutdown()

    # -- event handlers ---------------------------------------------------------------------------

    def _on_list(self, entries: list[Entry]) -> None:
        for e in entries:
            self.queue.add((e.obj["metadata"]["namespace"], e.obj["metadata"]["name"]))

    def _on_deployment_event(self, ev: WatchEvent) -> None:
        self.queue.add((ev.namespace, ev.name))

    def _deployments_for_rs(self, rs: Obj) -> list[Key]:
        ns = rs["metadata"].get("namespace", "")
        ref = controller_ref(rs)
        if ref is not None:
            return [(ns, ref["name"])] if ref.get("kind") == "Deployment" else []
        labels = rs["metadata"].get("labels") or {}
        out = []
        for e in self.store.entries("deployments", ns):
            try:
                sel = label_selector_from_spec(e.obj.get("spec", {}).get("selector"))
            except SelectorError:
                continue
            if not sel.empty() and sel.matches(labels):
                out.append((ns, e.obj["metadata"]["name"]))
        return out

    def _on_rs_event(self, ev: WatchEvent) -> None:
        keys = set(self._deployments_for_rs(ev.obj))
        if ev.old is not None:
            keys.update(self._deployments_for_rs(ev.old))
        for key in keys:
            self.queue.add(key)

    def _on_pod_event(self, ev: WatchEvent) -> None:
        # Only Recreate waits on pods (for the old ones to be gone).
        if ev.type != "DELETED":
            return
        ref = controller_ref(ev.obj)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        try:
            rs = self.store.entry("replicasets", ev.namespace, ref["name"]).obj
        except APIError:
            return
        for key in self._deployments_for_rs(rs):
            try:
                d = self.store.entry("deployments", *key).obj
            except APIError:
                continue
            if (d.get("spec", {}).get("strategy") or {}).get("type") == "Recreate":
                self.queue.add(key)

    # -- sync -------------------------------------------------------------------------------------

    async def sync(self, key: Key) -> None:
        ns, name = key
        try:
            d = copy.deepcopy(self.store.entry("deployments", ns, name).obj)
        except APIError as exc:
            if exc.code == 404:
                self.queue.forget(key)
                return
            raise
        try:
            selector = label_selector_from_spec(d.get("spec", {}).get("selector"))
        except SelectorError as exc:
            log.warning("deployment %s/%s: invalid selector: %s", ns, name, exc)
            return
        if selector.empty():
            log.warning("deployment %s/%s selects all pods; ignoring it", ns, name)
            return
        rs_list = await self._claim_replicasets(d, selector)
        if d["metadata"].get("deletionTimestamp"):
            await self._sync_status_only(d, rs_list)
            return
        await self._check_paused_conditions(d)
        if d.get("spec", {}).get("paused"):
            await self._sync_scale(d, rs_list)
            return
        if self._is_scaling_event(d, rs_list):
            await self._sync_scale(d, rs_list)
            return
        if (d.get("spec", {}).get("strategy") or {}).get("type") == "Recreate":
            await self._rollout_recreate(d, rs_list)
        else:
            await self._rollout_rolling(d, rs_list)
        self.queue.forget(key)

    async def _claim_replicasets(self, d: Obj, selector: Any) -> list[Obj]:
        ns = d["metadata"]["namespace"]
        uid = d["metadata"]["uid"]
        deleting = bool(d["metadata"].get("deletionTimestamp"))
        out = []
        for e in self.store.entries("replicasets", ns):
            rs = e.obj
            ref = controller_ref(rs)
            matches = selector.matches(rs["metadata"].get("labels") or {})
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    out.append(copy.deepcopy(rs))
                elif not rs["metadata"].get("deletionTimestamp"):
                    await patch_owner_references(self.store, "replicasets", rs, release_uid=uid, add=None)
                continue
            if matches and not deleting and not rs["metadata"].get("deletionTimestamp"):
                adopted = await patch_owner_references(
                    self.store, "replicasets", rs, release_uid=None, add=owner_reference(d)
                )
                if adopted is not None:
                    out.append(adopted)
        return out

    # -- replica sets -----------------------------------------------------------------------------

    def _find_new_rs(self, d: Obj, rs_list: list[Obj]) -> Obj | None:
        want = template_without_hash(d.get("spec", {}).get("template"))
        matching = [rs for rs in rs_list if template_without_hash(rs.get("spec", {}).get("template")) == want]
        if not matching:
            return None
        return sorted(matching, key=_created)[0]

    async def _get_all_replicasets(
        self, d: Obj, rs_list: list[Obj], create: bool
    ) -> tuple[Obj | None, list[Obj]]:
        """getAllReplicaSetsAndSyncRevision."""
        new_rs = self._find_new_rs(d, rs_list)
        old = [rs for rs in rs_list if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        new_rs = await self._get_new_replicaset(d, rs_list, old, new_rs, create)
        return new_rs, old

    async def _get_new_replicaset(
        self, d: Obj, rs_list: list[Obj], old: list[Obj], existing: Obj | None, create: bool
    ) -> Obj | None:
        max_old_revision = max((_revision(rs) for rs in old), default=0)
        new_revision = str(max_old_revision + 1)
        status = d.setdefault("status", {})
        if existing is not None:
            rs_copy = copy.deepcopy(existing)
            annotations_changed = self._set_new_rs_annotations(d, rs_copy, new_revision, exists=True)
            min_ready = d.get("spec", {}).get("minReadySeconds", 0)
            min_ready_changed = rs_copy.get("spec", {}).get("minReadySeconds", 0) != min_ready
            if annotations_changed or min_ready_changed:
                rs_copy["spec"]["minReadySeconds"] = min_ready
                return await self.store.update("replicasets", rs_copy, user=SYSTEM)
            needs_update = self._set_deployment_revision(d, rs_copy)
            cond = get_condition(status, "Progressing")
            if _has_progress_deadline(d) and cond is None:
                set_condition(
                    status,
                    new_condition(
                        "Progressing",
                        "True",
                        "FoundNewReplicaSet",
                        f'Found new replica set "{rs_copy["metadata"]["name"]}"',
                    ),
                )
                needs_update = True
            if needs_update:
                await self._write_deployment(d)
            return rs_copy
        if not create:
            return None
        template = copy.deepcopy(d.get("spec", {}).get("template") or {})
        collision = status.get("collisionCount")
        rs_hash = pod_template_hash(template, collision)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = rs_hash
        selector = copy.deepcopy(d.get("spec", {}).get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = rs_hash
        new_replicas = self._new_rs_new_replicas(d, rs_list, None)
        rs_name = f"{d['metadata']['name']}-{rs_hash}"
        new_rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": d["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "ownerReferences": [owner_reference(d)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": d.get("spec", {}).get("minReadySeconds", 0),
                "selector": selector,
                "template": template,
            },
        }
        self._set_new_rs_annotations(d, new_rs, new_revision, exists=False)
        new_rs["spec"]["replicas"] = new_replicas
        try:
            created = await self.store.create(
                "replicasets", new_rs, namespace=d["metadata"]["namespace"], user=SYSTEM
            )
        except APIError as exc:
            if exc.reason != "AlreadyExists":
                raise
            try:
                found = self.store.entry("replicasets", d["metadata"]["namespace"], rs_name).obj
            except APIError:
                raise exc from None
            ref = controller_ref(found)
            same = template_without_hash(found.get("spec", {}).get("template")) == template_without_hash(
                d.get("spec", {}).get("template")
            )
            if ref is not None and ref.get("uid") == d["metadata"]["uid"] and same:
                return copy.deepcopy(found)
            # A hash collision: bump collisionCount so the next try hashes differently.
            status["collisionCount"] = int(collision or 0) + 1
            await self._write_status(d, status)
            raise
        assert self.recorder is not None
        if new_replicas > 0:
            await self.recorder.normal(
                d, "ScalingReplicaSet", f"Scaled up replica set {rs_name} to {new_replicas} from 0"
            )
        needs_update = self._set_deployment_revision(d, created)
        if _has_progress_deadline(d):
            set_condition(
                status,
                new_condition(
                    "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"'
                ),
            )
            needs_update = True
        if needs_update:
            await self._write_deployment(d)
        return created

    def _set_new_rs_annotations(self, d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
        """deploymentutil.SetNewReplicaSetAnnotations: copy the Deployment's annotations, set the
        revision (keeping the history of reused revisions) and the replicas annotations."""
        meta = rs["metadata"]
        annotations = dict(meta.get("annotations") or {})
        before = dict(annotations)
        for k, v in (d["metadata"].get("annotations") or {}).items():
            if k not in _SKIP_ANNOTATIONS:
                annotations[k] = v
        old_revision = annotations.get(REVISION, "")
        try:
            old_num = int(old_revision) if old_revision else 0
        except ValueError:
            old_num = 0
        if old_num < int(new_revision):
            annotations[REVISION] = new_revision
            if old_revision and exists:
                history = annotations.get(REVISION_HISTORY)
                annotations[REVISION_HISTORY] = f"{history},{old_revision}" if history else old_revision
        if not exists:
            annotations[DESIRED_REPLICAS] = str(replicas_of(d))
            annotations[MAX_REPLICAS] = str(replicas_of(d) + max_surge(d))
        meta["annotations"] = annotations
        return annotations != before

    @staticmethod
    def _set_deployment_revision(d: Obj, new_rs: Obj) -> bool:
        revision = (new_rs["metadata"].get("annotations") or {}).get(REVISION)
        annotations = d["metadata"].setdefault("annotations", {})
        if revision and annotations.get(REVISION) != revision:
            annotations[REVISION] = revision
            return True
        return False

    async def _write_deployment(self, d: Obj) -> None:
        """Writes the Deployment's revision annotation and its status (two writes, as Kubernetes)."""
        current = self.store.entry("deployments", d["metadata"]["namespace"], d["metadata"]["name"]).obj
        want_rev = (d["metadata"].get("annotations") or {}).get(REVISION)
        if want_rev and (current["metadata"].get("annotations") or {}).get(REVISION) != want_rev:

            def mutate(obj: Obj) -> Obj:
                obj["metadata"].setdefault("annotations", {})[REVISION] = want_rev
                return obj

            await self.store.patch(
                "deployments", d["metadata"]["namespace"], d["metadata"]["name"], mutate, user=SYSTEM
            )
        await self._write_status(d, d.get("status") or {})

    async def _write_status(self, d: Obj, status: Obj) -> None:
        current = self.store.entry("deployments", d["metadata"]["namespace"], d["metadata"]["name"]).obj
        if (current.get("status") or {}) == status:
            return
        body = {
            "metadata": {"name": d["metadata"]["name"], "namespace": d["metadata"]["namespace"]},
            "status": status,
        }
        await self.store.update("deployments", body, subresource="status", user=SYSTEM)

    def _new_rs_new_replicas(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> int:
        """deploymentutil.NewRSNewReplicas."""
        want = replicas_of(d)
        if _rolling(d) is None:
            return want
        current = replicas_of(new_rs) if new_rs is not None else 0
        total = sum(replicas_of(rs) for rs in all_rs)  # all_rs holds new_rs when it exists
        max_total = want + max_surge(d)
        if total >= max_total:
            return current
        scale_up = min(max_total - total, want - current)
        return current + scale_up

    async def _scale_rs(self, d: Obj, rs: Obj, new_scale: int, operation: str) -> tuple[bool, Obj]:
        """scaleReplicaSet: replicas and the desired/max annotations in one update; an event on resize."""
        old_scale = replicas_of(rs)
        desired = str(replicas_of(d))
        max_total = str(replicas_of(d) + max_surge(d))
        annotations = rs["metadata"].get("annotations") or {}
        size_changed = old_scale != new_scale
        annotations_changed = (
            annotations.get(DESIRED_REPLICAS) != desired or annotations.get(MAX_REPLICAS) != max_total
        )
        if not size_changed and not annotations_changed:
            return False, rs
        rs_copy = copy.deepcopy(rs)
        rs_copy["spec"]["replicas"] = new_scale
        rs_copy["metadata"].setdefault("annotations", {}).update(
            {DESIRED_REPLICAS: desired, MAX_REPLICAS: max_total}
        )
        updated = await self.store.update("replicasets", rs_copy, user=SYSTEM)
        if size_changed:
            assert self.recorder is not None
            await self.recorder.normal(
                d,
                "ScalingReplicaSet",
                f"Scaled {operation} replica set {rs['metadata']['name']} to {new_scale} from {old_scale}",
            )
        rs.clear()
        rs.update(updated)
        return size_changed, rs

    async def _scale_and_record(self, d: Obj, rs: Obj, new_scale: int) -> bool:
        if replicas_of(rs) == new_scale:
            return False
        operation = "up" if replicas_of(rs) < new_scale else "down"
        scaled, _ = await self._scale_rs(d, rs, new_scale, operation)
        return scaled

    # -- scaling (sync.go: isScalingEvent, scale) -------------------------------------------------

    def _is_scaling_event(self, d: Obj, rs_list: list[Obj]) -> bool:
        for rs in rs_list:
            if replicas_of(rs) <= 0:
                continue
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS)
            if desired is not None and desired.isdigit() and int(desired) != replicas_of(d):
                return True
        return False

    async def _sync_scale(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old = await self._get_all_replicasets(d, rs_list, create=False)
        await self._scale(d, new_rs, old)
        if d.get("spec", {}).get("paused"):
            await self._cleanup(d, old)
        all_rs = old + ([new_rs] if new_rs is not None else [])
        await self._sync_deployment_status(d, all_rs, new_rs)

    async def _sync_status_only(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old = await self._get_all_replicasets(d, rs_list, create=False)
        all_rs = old + ([new_rs] if new_rs is not None else [])
        await self._sync_deployment_status(d, all_rs, new_rs)

    async def _scale(self, d: Obj, new_rs: Obj | None, old: list[Obj]) -> None:
        want = replicas_of(d)
        active = [rs for rs in ([new_rs] if new_rs else []) + old if replicas_of(rs) > 0]
        # FindActiveOrLatest
        target: Obj | None = None
        if len(active) == 1:
            target = active[0]
        elif not active:
            if new_rs is not None:
                target = new_rs
            elif old:
                target = sorted(old, key=_created)[-1]
        if target is not None:
            await self._scale_and_record(d, target, want)
            return
        if new_rs is not None and self._is_saturated(d, new_rs):
            for rs in old:
                if replicas_of(rs) > 0:
                    await self._scale_and_record(d, rs, 0)
            return
        if _rolling(d) is None:
            return
        all_rs = [rs for rs in old + ([new_rs] if new_rs else []) if replicas_of(rs) > 0]
        all_replicas = sum(replicas_of(rs) for rs in all_rs)
        allowed = want + max_surge(d) if want > 0 else 0
        to_add = allowed - all_replicas
        if to_add > 0:  # ReplicaSetsBySizeNewer
            all_rs.sort(key=lambda rs: (-replicas_of(rs), -_created(rs)[0]))
        else:  # ReplicaSetsBySizeOlder
            all_rs.sort(key=lambda rs: (-replicas_of(rs), _created(rs)[0]))
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rs:
            uid = rs["metadata"]["uid"]
            if to_add != 0:
                proportion = self._proportion(d, rs, to_add, added)
                sizes[uid] = replicas_of(rs) + proportion
                added += proportion
            else:
                sizes[uid] = replicas_of(rs)
        if to_add != 0 and all_rs:
            first = all_rs[0]["metadata"]["uid"]
            sizes[first] = max(sizes[first] + to_add - added, 0)
        for rs in all_rs:
            new_size = sizes[rs["metadata"]["uid"]]
            operation = "up" if replicas_of(rs) < new_size else "down"
            await self._scale_rs(d, rs, new_size, operation)

    def _proportion(self, d: Obj, rs: Obj, to_add: int, added: int) -> int:
        if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
            return 0
        if replicas_of(d) == 0:
            fraction = -replicas_of(rs)
        else:
            total = replicas_of(d) + max_surge(d)
            try:
                annotated = int((rs["metadata"].get("annotations") or {}).get(MAX_REPLICAS, ""))
            except ValueError:
                annotated = _status_int(d, "replicas")
            if annotated <= 0:
                return 0
            exact = replicas_of(rs) * total / annotated
            fraction = math.floor(exact + 0.5) - replicas_of(rs)  # Go's math.Round for positives
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    @staticmethod
    def _is_saturated(d: Obj, rs: Obj) -> bool:
        desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS, "")
        want = replicas_of(d)
        return (
            replicas_of(rs) == want and desired == str(want) and _status_int(rs, "availableReplicas") == want
        )

    # -- rolling update (rolling.go) --------------------------------------------------------------

    async def _rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old = await self._get_all_replicasets(d, rs_list, create=True)
        all_rs = old + ([new_rs] if new_rs is not None else [])
        if await self._reconcile_new_rs(d, all_rs, new_rs):
            await self._sync_rollout_status(d, all_rs, new_rs)
            return
        if await self._reconcile_old_rs(d, all_rs, [rs for rs in old if replicas_of(rs) > 0], new_rs):
            await self._sync_rollout_status(d, all_rs, new_rs)
            return
        if deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, all_rs, new_rs)

    async def _reconcile_new_rs(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> bool:
        if new_rs is None:
            return False
        want = replicas_of(d)
        if replicas_of(new_rs) == want:
            return False
        if replicas_of(new_rs) > want:
            return await self._scale_and_record(d, new_rs, want)
        return await self._scale_and_record(d, new_rs, self._new_rs_new_replicas(d, all_rs, new_rs))

    async def _reconcile_old_rs(self, d: Obj, all_rs: list[Obj], old: list[Obj], new_rs: Obj | None) -> bool:
        old_pods = sum(replicas_of(rs) for rs in old)
        if old_pods == 0:
            return False
        all_pods = sum(replicas_of(rs) for rs in all_rs)
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = 0
        if new_rs is not None:
            new_unavailable = replicas_of(new_rs) - _status_int(new_rs, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        # cleanupUnhealthyReplicas: old pods that are not available go first.
        cleaned = 0
        for rs in sorted(old, key=_created):
            if cleaned >= max_scaled_down:
                break
            if replicas_of(rs) == 0:
                continue
            unhealthy = replicas_of(rs) - _status_int(rs, "availableReplicas")
            if unhealthy <= 0:
                continue
            down = min(max_scaled_down - cleaned, unhealthy)
            await self._scale_rs(d, rs, replicas_of(rs) - down, "down")
            cleaned += down
        # scaleDownOldReplicaSetsForRollingUpdate
        available = sum(_status_int(rs, "availableReplicas") for rs in all_rs)
        scaled = 0
        if available > min_available:
            total_down = available - min_available
            for rs in sorted(old, key=_created):
                if scaled >= total_down:
                    break
                if replicas_of(rs) == 0:
                    continue
                down = min(replicas_of(rs), total_down - scaled)
                await self._scale_rs(d, rs, replicas_of(rs) - down, "down")
                scaled += down
        return cleaned + scaled > 0

    # -- recreate (recreate.go) -------------------------------------------------------------------

    async def _rollout_recreate(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old = await self._get_all_replicasets(d, rs_list, create=False)
        all_rs = old + ([new_rs] if new_rs is not None else [])
        scaled_down = False
        for rs in old:
            if replicas_of(rs) > 0:
                scaled, _ = await self._scale_rs(d, rs, 0, "down")
                scaled_down = scaled_down or scaled
        if scaled_down:
            await self._sync_rollout_status(d, all_rs, new_rs)
            return
        if self._old_pods_running(d, old):
            await self._sync_rollout_status(d, all_rs, new_rs)
            return
        if new_rs is None:
            new_rs, old = await self._get_all_replicasets(d, rs_list, create=True)
            all_rs = old + ([new_rs] if new_rs is not None else [])
        if new_rs is not None:
            await self._scale_and_record(d, new_rs, replicas_of(d))
        if deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, all_rs, new_rs)

    def _old_pods_running(self, d: Obj, old: list[Obj]) -> bool:
        if any(_status_int(rs, "replicas") > 0 for rs in old):
            return True
        uids = {rs["metadata"]["uid"] for rs in old}
        for e in self.store.entries("pods", d["metadata"]["namespace"]):
            ref = controller_ref(e.obj)
            if ref is None or ref.get("uid") not in uids:
                continue
            if (e.obj.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                return True
        return False

    # -- history ----------------------------------------------------------------------------------

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        limit = d.get("spec", {}).get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old if not rs["metadata"].get("deletionTimestamp")]
        diff = len(alive) - int(limit)
        if diff <= 0:
            return
        alive.sort(key=lambda rs: (_revision(rs), _created(rs)))
        for rs in alive[:diff]:
            status = rs.get("status") or {}
            if (
                int(status.get("replicas") or 0) != 0
                or replicas_of(rs) != 0
                or int(rs["metadata"].get("generation") or 1) > int(status.get("observedGeneration") or 0)
            ):
                continue
            try:
                await self.store.delete(
                    "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"], user=SYSTEM
                )
            except APIError as exc:
                if exc.code != 404:
                    raise

    # -- status (sync.go, progress.go) ------------------------------------------------------------

    def _calculate_status(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> Obj:
        available = sum(_status_int(rs, "availableReplicas") for rs in all_rs)
        total = sum(replicas_of(rs) for rs in all_rs)
        old_status = d.get("status") or {}
        status: Obj = {
            "observedGeneration": int(d["metadata"].get("generation") or 1),
            "replicas": sum(_status_int(rs, "replicas") for rs in all_rs),
            "updatedReplicas": _status_int(new_rs, "replicas") if new_rs is not None else 0,
            "readyReplicas": sum(_status_int(rs, "readyReplicas") for rs in all_rs),
            "availableReplicas": available,
            "unavailableReplicas": max(total - available, 0),
        }
        if old_status.get("collisionCount") is not None:
            status["collisionCount"] = old_status["collisionCount"]
        status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "collisionCount")}
        conditions = copy.deepcopy(old_status.get("conditions") or [])
        if conditions:
            status["conditions"] = conditions
        if available >= replicas_of(d) - max_unavailable(d):
            set_condition(
                status,
                new_condition(
                    "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
                ),
            )
        else:
            set_condition(
                status,
                new_condition(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                ),
            )
        return status

    async def _sync_deployment_status(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> None:
        status = self._calculate_status(d, all_rs, new_rs)
        await self._write_status(d, status)

    async def _sync_rollout_status(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> None:
        status = self._calculate_status(d, all_rs, new_rs)
        if not _has_progress_deadline(d):
            remove_condition(status, "Progressing")
        current = get_condition(status, "Progressing")
        complete = deployment_complete(d, status)
        rs_name = new_rs["metadata"]["name"] if new_rs is not None else ""
        if _has_progress_deadline(d) and not (
            current is not None and current.get("reason") == "ProgressDeadlineExceeded"
        ):
            if complete:
                set_condition(
                    status,
                    new_condition(
                        "Progressing",
                        "True",
                        "NewReplicaSetAvailable",
                        f'ReplicaSet "{rs_name}" has successfully progressed.',
                    ),
                )
            elif self._progressing(d, status):
                msg = (
                    f'ReplicaSet "{rs_name}" is progressing.'
                    if new_rs is not None
                    else "Deployment is progressing."
                )
                cond = new_condition("Progressing", "True", "ReplicaSetUpdated", msg)
                if current is not None and current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime", cond["lastTransitionTime"])
                remove_condition(status, "Progressing")
                set_condition(status, cond)
            elif self._timed_out(d, status):
                msg = (
                    f'ReplicaSet "{rs_name}" has timed out progressing.'
                    if new_rs is not None
                    else (f'Deployment "{d["metadata"]["name"]}" has timed out progressing.')
                )
                set_condition(status, new_condition("Progressing", "False", "ProgressDeadlineExceeded", msg))
        failures = [
            get_condition(rs.get("status") or {}, "ReplicaFailure")
            for rs in ([new_rs] if new_rs is not None else []) + [rs for rs in all_rs if rs is not new_rs]
        ]
        failure = next((c for c in failures if c is not None and c.get("status") == "True"), None)
        if failure is not None:
            set_condition(
                status,
                new_condition(
                    "ReplicaFailure", failure["status"], failure.get("reason", ""), failure.get("message", "")
                ),
            )
        else:
            remove_condition(status, "ReplicaFailure")
        old_status = d.get("status") or {}
        if status == old_status:
            self._requeue_stuck(d, status)
            return
        await self._write_status(d, status)
        self._requeue_stuck(d, status)

    @staticmethod
    def _progressing(d: Obj, new: Obj) -> bool:
        old = d.get("status") or {}

        def g(s: Obj, f: str) -> int:
            return int(s.get(f) or 0)

        old_old = g(old, "replicas") - g(old, "updatedReplicas")
        new_old = g(new, "replicas") - g(new, "updatedReplicas")
        return (
            g(new, "updatedReplicas") > g(old, "updatedReplicas")
            or new_old < old_old
            or g(new, "readyReplicas") > g(old, "readyReplicas")
            or g(new, "availableReplicas") > g(old, "availableReplicas")
        )

    @staticmethod
    def _deadline_left(d: Obj, status: Obj) -> float | None:
        cond = get_condition(status, "Progressing")
        if cond is None or cond.get("reason") in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded"):
            return None
        since = parse_time(cond.get("lastUpdateTime"))
        if since is None:
            return None
        deadline = since + datetime.timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"]))
        return (deadline - datetime.datetime.now(datetime.UTC)).total_seconds()

    def _timed_out(self, d: Obj, status: Obj) -> bool:
        if not _has_progress_deadline(d) or deployment_complete(d, status):
            return False
        cond = get_condition(status, "Progressing")
        if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
            return True
        left = self._deadline_left(d, status)
        return left is not None and left <= 0

    def _requeue_stuck(self, d: Obj, status: Obj) -> None:
        if not _has_progress_deadline(d) or deployment_complete(d, status):
            return
        left = self._deadline_left(d, status)
        if left is None:
            return
        key = (d["metadata"]["namespace"], d["metadata"]["name"])
        self.queue.add_after(key, max(left, 0) + 1.0)

    async def _check_paused_conditions(self, d: Obj) -> None:
        if not _has_progress_deadline(d):
            return
        status = d.setdefault("status", {})
        cond = get_condition(status, "Progressing")
        paused = bool(d.get("spec", {}).get("paused"))
        changed = False
        if paused and (cond is None or cond.get("reason") != "DeploymentPaused"):
            set_condition(
                status, new_condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
            )
            changed = True
        elif not paused and cond is not None and cond.get("reason") == "DeploymentPaused":
            set_condition(
                status, new_condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed")
            )
            changed = True
        if changed:
            await self._write_status(d, status)


def workload_controllers(ctx: SandboxContext) -> list[Component]:
    """The garbage collector, the ReplicaSet controller and the Deployment controller, in start order.

    The garbage collector announces ``foregroundDeletion`` and ``orphan`` in
    ``ctx.store.handled_finalizers`` here, before the API server serves its first request."""
    gc = GarbageCollector()
    gc.announce(ctx.store)
    return [gc, ReplicaSetController(), DeploymentController()]


__all__ = [
    "DeploymentController",
    "max_surge",
    "max_unavailable",
    "resolve_fenceposts",
    "workload_controllers",
]
