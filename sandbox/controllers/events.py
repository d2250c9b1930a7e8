"""core/v1 Events as client-go's record.EventRecorder writes them.

``EventRecorder(store, "replicaset-controller").record(obj, "Normal", "SuccessfulCreate", "Created pod: x")``
writes an Event in the object's namespace (``default`` for cluster-scoped objects) named
``<object>.<hex nanoseconds>``; an identical event (same object, type, reason, message and source)
seen again bumps ``count`` and ``lastTimestamp`` of the first one instead, as the EventCorrelator does.
Events are best effort: a failed write is logged, never raised.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, now_rfc3339
from sandbox.hooks import SYSTEM

log = logging.getLogger(__name__)

Obj = dict[str, Any]
# (namespace, involved uid, involved name, kind, type, reason, message)
_Key = tuple[str, str, str, str, str, str, str]

# The EventCorrelator's LRU holds 4096 entries.
_CACHE_SIZE = 4096


def involved_object(obj: Obj) -> Obj:
    """An ObjectReference to `obj` (kind, namespace, name, uid, apiVersion, resourceVersion)."""
    meta = obj.get("metadata") or {}
    ref: Obj = {
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    """Records Events for one component (``source.component`` and ``reportingComponent``)."""

    def __init__(self, store: Store, component: str, host: str = "sandbox") -> None:
        self.store = store
        self.component = component
        self.host = host
        self._seen: OrderedDict[_Key, str] = OrderedDict()

    async def record(self, obj: Obj, type: str, reason: str, message: str) -> Obj | None:
        """Write (or aggregate) one event about `obj`; returns the stored Event, None on failure."""
        ref = involved_object(obj)
        namespace = ref.get("namespace") or "default"
        key: _Key = (
            namespace,
            ref.get("uid", ""),
            ref.get("name", ""),
            ref.get("kind", ""),
            type,
            reason,
            message,
        )
        now = now_rfc3339()
        name = self._seen.get(key)
        if name is not None:
            self._seen.move_to_end(key)

            def bump(ev: Obj) -> Obj:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = now
                ev["involvedObject"] = ref
                return ev

            try:
                return await self.store.patch("events", namespace, name, bump, user=SYSTEM)
            except APIError as exc:
                if exc.code != 404:
                    log.warning("event %s/%s: %s", namespace, name, exc.message)
                    return None
                self._seen.pop(key, None)  # expired or deleted: start a new series
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{ref.get('name', 'unknown')}.{time.time_ns():x}",
                "namespace": namespace,
            },
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": {"component": self.component, "host": self.host},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        try:
            created = await self.store.create("events", event, namespace=namespace, user=SYSTEM)
        except APIError as exc:
            log.warning("event for %s %s/%s: %s", ref.get("kind"), namespace, ref.get("name"), exc.message)
            return None
        self._seen[key] = created["metadata"]["name"]
        while len(self._seen) > _CACHE_SIZE:
            self._seen.popitem(last=False)
        return created

    async def normal(self, obj: Obj, reason: str, message: str) -> Obj | None:
        return await self.record(obj, "Normal", reason, message)

    async def warning(self, obj: Obj, reason: str, message: str) -> Obj | None:
        return await self.record(obj, "Warning", reason, message)
