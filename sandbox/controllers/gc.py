"""The garbage collector (`pkg/controller/garbagecollector`): deletes dependents by ownerReferences.

It keeps a graph owner uid → dependents from watches on every stored resource (Events excepted) and
processes one object at a time from a work queue:

- an object whose owners are all gone (or replaced by another uid) is deleted — Background by default,
  Foreground/Orphan when its own finalizers ask for it; this also collects dependents orphaned while the
  sandbox was down, since every object with ownerReferences is checked on start;
- an object with owners still present but some gone keeps only the live ownerReferences;
- an owner being deleted with the ``foregroundDeletion`` finalizer gets its dependents deleted and loses
  the finalizer once no dependent with ``blockOwnerDeletion: true`` is left;
- an owner being deleted with the ``orphan`` finalizer has its ownerReference removed from every
  dependent, then loses the finalizer.

``GarbageCollector.announce(store)`` adds both finalizers to ``store.handled_finalizers`` so that the
store honours ``propagationPolicy`` Foreground and Orphan.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sandbox.apiserver import resources
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Entry, Store, WatchEvent
from sandbox.controllers import TaskSet, WorkQueue, list_and_watch, run_workers
from sandbox.hooks import SYSTEM, SandboxContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]
# (resource plural, namespace, name)
Item = tuple[str, str, str]

COMPONENT = "garbage-collector-controller"
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
# Events never own anything and are never owned; watching them would only add churn.
_UNWATCHED = {"events"}


def _owner_type(ref: Obj) -> resources.ResourceType | None:
    return resources.BY_KIND.get((str(ref.get("apiVersion", "")), str(ref.get("kind", ""))))


class GarbageCollector:
    """Component: ``await GarbageCollector().start(ctx)`` / ``await stop()``."""

    def __init__(self) -> None:
        self.queue = WorkQueue(base_delay=0.05, max_delay=30.0)
        self._tasks = TaskSet()
        self._store: Store | None = None
        self._dependents: dict[str, set[Item]] = defaultdict(set)
        self._owners_of: dict[Item, set[str]] = {}

    @staticmethod
    def announce(store: Store) -> None:
        store.handled_finalizers.update({FOREGROUND, ORPHAN})

    @property
    def store(self) -> Store:
        assert self._store is not None, "start() first"
        return self._store

    async def start(self, ctx: SandboxContext) -> None:
        self._store = ctx.store
        self.announce(ctx.store)
        for rt in resources.RESOURCES:
            if not rt.stored or rt.plural in _UNWATCHED:
                continue
            plural = rt.plural
            self._tasks.spawn(
                list_and_watch(
                    self.store,
                    plural,
                    lambda entries, p=plural: self._on_list(p, entries),  # type: ignore[misc]
                    lambda ev, p=plural: self._on_event(p, ev),  # type: ignore[misc]
                ),
                f"gc-{plural}",
            )
        self._tasks.spawn(run_workers(self.queue, self.sync, COMPONENT), "gc-worker")

    async def stop(self) -> None:
        await self._tasks.cancel()
        self.queue.shutdown()

    # -- graph ------------------------------------------------------------------------------------

    @staticmethod
    def _item(resource: str, obj: Obj) -> Item:
        meta = obj["metadata"]
        return (resource, meta.get("namespace") or "", meta["name"])

    def _index(self, item: Item, obj: Obj | None) -> None:
        for uid in self._owners_of.pop(item, set()):
            deps = self._dependents.get(uid)
            if deps is not None:
                deps.discard(item)
                if not deps:
                    del self._dependents[uid]
        if obj is None:
            return
        uids = {r["uid"] for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid")}
        if uids:
            self._owners_of[item] = uids
            for uid in uids:
                self._dependents[uid].add(item)

    @staticmethod
    def _needs_attention(obj: Obj) -> bool:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and {FOREGROUND, ORPHAN} & set(meta.get("finalizers") or []):
            return True
        return bool(meta.get("ownerReferences"))

    def _on_list(self, resource: str, entries: list[Entry]) -> None:
        for e in entries:
            item = self._item(resource, e.obj)
            self._index(item, e.obj)
            if self._needs_attention(e.obj):
                self.queue.add(item)

    def _on_event(self, resource: str, ev: WatchEvent) -> None:
        item = (resource, ev.namespace, ev.name)
        if ev.type == "DELETED":
            self._index(item, None)
            # Its dependents may now be dangling; its owners may be waiting for it.
            for dep in list(self._dependents.get(ev.obj["metadata"].get("uid", ""), ())):
                self.queue.add(dep)
            for owner in self._owner_items(ev.obj):
                self.queue.add(owner)
            return
        self._index(item, ev.obj)
        old_refs = (ev.old or {}).get("metadata", {}).get("ownerReferences")
        meta = ev.obj["metadata"]
        deleting_changed = bool(meta.get("deletionTimestamp")) and (
            ev.old is None
            or not ev.old["metadata"].get("deletionTimestamp")
            or ev.old["metadata"].get("finalizers") != meta.get("finalizers")
        )
        changed = ev.type == "ADDED" or deleting_changed or old_refs != meta.get("ownerReferences")
        if changed and self._needs_attention(ev.obj):
            self.queue.add(item)
        if deleting_changed:
            for dep in list(self._dependents.get(meta.get("uid", ""), ())):
                self.queue.add(dep)

    def _owner_items(self, obj: Obj) -> list[Item]:
        out = []
        ns = obj["metadata"].get("namespace") or ""
        for ref in obj["metadata"].get("ownerReferences") or []:
            rt = _owner_type(ref)
            if rt is not None and ref.get("name"):
                out.append((rt.plural, ns if rt.namespaced else "", ref["name"]))
        return out

    def _live_dependents(self, uid: str) -> list[Entry]:
        out = []
        for resource, ns, name in list(self._dependents.get(uid, ())):
            try:
                e = self.store.entry(resource, ns or None, name)
            except APIError:
                continue
            if any(r.get("uid") == uid for r in e.obj["metadata"].get("ownerReferences") or []):
                out.append(e)
        return out

    # -- sync -------------------------------------------------------------------------------------

    async def sync(self, item: Item) -> None:
        resource, ns, name = item
        try:
            obj = self.store.entry(resource, ns or None, name).obj
        except APIError as exc:
            if exc.code == 404:
                return
            raise
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            finalizers = meta.get("finalizers") or []
            if ORPHAN in finalizers:
                await self._orphan_dependents(resource, obj)
            elif FOREGROUND in finalizers:
                await self._delete_dependents(resource, obj)
            return
        if meta.get("ownerReferences"):
            await self._attempt_to_delete(resource, obj)

    async def _orphan_dependents(self, resource: str, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for e in self._live_dependents(uid):
            await self._patch_refs(e.obj, drop={uid}, unblock=set())
        await self._remove_finalizer(resource, owner, ORPHAN)

    async def _delete_dependents(self, resource: str, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        blocking = 0
        for e in self._live_dependents(uid):
            dep = e.obj
            ref = next(r for r in dep["metadata"]["ownerReferences"] if r.get("uid") == uid)
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not dep["metadata"].get("deletionTimestamp"):
                # Its other owners decide whether it goes: _attempt_to_delete sees this owner waiting.
                self.queue.add(self._item(self._resource_of(dep), dep))
        if blocking == 0:
            await self._remove_finalizer(resource, owner, FOREGROUND)

    @staticmethod
    def _resource_of(obj: Obj) -> str:
        rt = resources.BY_KIND[(obj["apiVersion"], obj["kind"])]
        return rt.plural

    async def _attempt_to_delete(self, resource: str, obj: Obj) -> None:
        ns = obj["metadata"].get("namespace") or ""
        solid, dangling, waiting = [], set(), set()
        for ref in obj["metadata"].get("ownerReferences") or []:
            rt = _owner_type(ref)
            if rt is None:
                solid.append(ref)  # a kind the sandbox does not serve: never guess it is gone
                continue
            try:
                owner = self.store.entry(rt.plural, ns if rt.namespaced else None, ref.get("name", "")).obj
            except APIError as exc:
                if exc.code != 404:
                    raise
                dangling.add(ref.get("uid", ""))
                continue
            ometa = owner["metadata"]
            if ometa.get("uid") != ref.get("uid"):
                dangling.add(ref.get("uid", ""))
            elif ometa.get("deletionTimestamp") and FOREGROUND in (ometa.get("finalizers") or []):
                waiting.add(ref.get("uid", ""))
            else:
                solid.append(ref)
        if solid:
            if dangling or waiting:
                await self._patch_refs(obj, drop=dangling | waiting, unblock=set())
            return
        if not dangling and not waiting:
            return
        finalizers = obj["metadata"].get("finalizers") or []
        uid = obj["metadata"]["uid"]
        if waiting and self._live_dependents(uid):
            policy = "Foreground"
        elif ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        try:
            await self.store.delete(
                resource,
                ns or None,
                obj["metadata"]["name"],
                propagation_policy=policy,
                preconditions={"uid": uid},
                user=SYSTEM,
            )
        except APIError as exc:
            if exc.code not in (404, 409):
                raise

    async def _patch_refs(self, obj: Obj, *, drop: set[str], unblock: set[str]) -> None:
        meta = obj["metadata"]
        uid = meta["uid"]

        def mutate(current: Obj) -> Obj:
            cm = current["metadata"]
            if cm.get("uid") != uid:
                raise APIError(409, "Conflict", "object was recreated")
            refs = []
            for r in cm.get("ownerReferences") or []:
                if r.get("uid") in drop:
                    continue
                if r.get("uid") in unblock:
                    r["blockOwnerDeletion"] = False
                refs.append(r)
            if refs:
                cm["ownerReferences"] = refs
            else:
                cm.pop("ownerReferences", None)
            return current

        try:
            await self.store.patch(
                self._resource_of(obj), meta.get("namespace") or None, meta["name"], mutate, user=SYSTEM
            )
        except APIError as exc:
            if exc.code not in (404, 409):
                raise

    async def _remove_finalizer(self, resource: str, obj: Obj, finalizer: str) -> None:
        meta = obj["metadata"]
        uid = meta["uid"]

        def mutate(current: Obj) -> Obj:
            cm = current["metadata"]
            if cm.get("uid") != uid:
                raise APIError(409, "Conflict", "object was recreated")
            rest = [f for f in cm.get("finalizers") or [] if f != finalizer]
            if rest:
                cm["finalizers"] = rest
            else:
                cm.pop("finalizers", None)
            return current

        try:
            await self.store.patch(resource, meta.get("namespace") or None, meta["name"], mutate, user=SYSTEM)
        except APIError as exc:
            if exc.code not in (404, 409):
                raise


def garbage_collector(ctx: SandboxContext) -> GarbageCollector:
    gc = GarbageCollector()
    gc.announce(ctx.store)
    return gc


__all__ = ["FOREGROUND", "ORPHAN", "GarbageCollector", "garbage_collector"]
