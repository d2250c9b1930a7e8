"""The sandbox's controllers and the machinery they share: a deduplicating work queue and list+watch loops.

Controllers read the store's in-memory cache (``store.entry``/``store.entries``) the way Kubernetes
controllers read their informers' listers, and write through the store's API so that admission and watch
behave for them exactly as for kubectl.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Entry, Store, WatchEvent
from sandbox.hooks import SYSTEM

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class WorkQueue:
    """client-go's rate-limited work queue: a key is queued at most once, and a key that is added while
    being processed is processed again afterwards (never twice at the same time)."""

    def __init__(self, base_delay: float = 0.05, max_delay: float = 30.0) -> None:
        self._queue: asyncio.Queue[Hashable] = asyncio.Queue()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._failures: dict[Hashable, int] = {}
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self.base_delay = base_delay
        self.max_delay = max_delay

    def add(self, key: Hashable) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.put_nowait(key)

    def add_after(self, key: Hashable, delay: float) -> None:
        """Add `key` after `delay` seconds (an earlier pending timer wins)."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        timer = self._timers.get(key)
        when = loop.time() + delay
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.add(key)

        self._timers[key] = loop.call_at(when, fire)

    def add_rate_limited(self, key: Hashable) -> float:
        """Exponential backoff per key (base_delay doubling up to max_delay); returns the delay."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        delay: float = min(self.base_delay * float(2**n), self.max_delay)
        self.add_after(key, delay)
        return delay

    def failures(self, key: Hashable) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    async def get(self) -> Hashable:
        key = await self._queue.get()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: Hashable) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.put_nowait(key)

    def __len__(self) -> int:
        return self._queue.qsize()

    def shutdown(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


async def list_and_watch(
    store: Store,
    resource: str,
    on_list: Callable[[list[Entry]], None],
    on_event: Callable[[WatchEvent], None],
) -> None:
    """Reflector: list, watch from the list's resourceVersion, relist when the watch ends (cut off for
    lagging) or the resourceVersion expired (410). Runs until cancelled."""
    while True:
        # entries() and watch() run without an await in between: nothing can slip between them.
        entries = store.entries(resource)
        rv = store.resource_version
        try:
            watch = store.watch(resource, resource_version=rv)
        except APIError as exc:
            log.info("watch %s from %s: %s; relisting", resource, rv, exc.message)
            await asyncio.sleep(0.1)
            continue
        try:
            try:
                on_list(entries)
            except Exception:
                log.exception("handling the %s list", resource)
            async for event in watch:
                try:
                    on_event(event)
                except Exception:
                    log.exception("handling a %s watch event", resource)
        finally:
            watch.close()
        log.info("watch on %s ended; relisting", resource)
        await asyncio.sleep(0.05)


async def run_workers(queue: WorkQueue, sync: Callable[[Any], Any], name: str, workers: int = 1) -> None:
    """Take keys from `queue` and await `sync(key)`; an exception requeues the key with backoff,
    never ends the loop."""

    async def worker() -> None:
        while True:
            key = await queue.get()
            try:
                await sync(key)
            except asyncio.CancelledError:
                raise
            except APIError as exc:
                delay = queue.add_rate_limited(key)
                if exc.code == 409:
                    log.debug("%s %s: %s (retry in %.2fs)", name, key, exc.message, delay)
                else:
                    log.warning("%s %s: %s (retry in %.2fs)", name, key, exc.message, delay)
            except Exception:
                delay = queue.add_rate_limited(key)
                log.exception("%s %s failed (retry in %.2fs)", name, key, delay)
            finally:
                queue.done(key)

    await asyncio.gather(*(worker() for _ in range(workers)))


def controller_ref(obj: Obj) -> Obj | None:
    """metav1.GetControllerOf: the ownerReference with `controller: true`, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def owner_reference(owner: Obj, *, controller: bool = True, block: bool = True) -> Obj:
    """metav1.NewControllerRef."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": block,
    }


async def patch_owner_references(
    store: Store, resource: str, obj: Obj, *, release_uid: str | None, add: Obj | None
) -> Obj | None:
    """Adopt (`add` a controller ref) or release (drop the ref to `release_uid`) one dependent, as
    Kubernetes' ControllerRefManager does: only the same object (uid) and never a second controller.
    None when it was recreated, deleted or claimed by someone else meanwhile."""
    meta = obj["metadata"]
    expected_uid = meta["uid"]
    kind = resource.removesuffix("s")

    def mutate(current: Obj) -> Obj:
        cm = current["metadata"]
        if cm.get("uid") != expected_uid:
            raise APIError(409, "Conflict", f"{kind} was recreated")
        refs = [r for r in cm.get("ownerReferences") or [] if r.get("uid") != release_uid]
        if add is not None:
            if controller_ref(current) is not None:
                raise APIError(409, "Conflict", f"{kind} already has a controller")
            refs.append(add)
        if refs:
            cm["ownerReferences"] = refs
        else:
            cm.pop("ownerReferences", None)
        return current

    try:
        return await store.patch(resource, meta["namespace"], meta["name"], mutate, user=SYSTEM)
    except APIError as exc:
        if exc.code not in (404, 409):
            raise
        return None


class TaskSet:
    """The background tasks of one component, cancelled together on stop."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def spawn(self, coro: Any, name: str) -> None:
        self.tasks.append(asyncio.create_task(coro, name=name))

    async def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
