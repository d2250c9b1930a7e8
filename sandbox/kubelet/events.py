"""core/v1 Events about pods, written through the store as the kubelet (or scheduler) reports them.

A repeat of the same (object, reason, message) bumps ``count`` and ``lastTimestamp`` of the earlier
Event, as the client-go event correlator does.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, now_rfc3339
from sandbox.hooks import SYSTEM

log = logging.getLogger(__name__)
NODE_NAME = "sandbox"


class EventRecorder:
    def __init__(self, store: Store, component: str = "kubelet", host: str = NODE_NAME) -> None:
        self.store = store
        self.component = component
        self.host = host
        self._seen: dict[tuple[str, str, str, str], str] = {}  # (uid, fieldPath, reason, message) → name

    async def pod_event(
        self,
        pod: dict[str, Any],
        reason: str,
        message: str,
        *,
        type_: str = "Normal",
        container: str | None = None,
    ) -> None:
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        field_path = ""
        if container is not None:
            kind = (
                "initContainers"
                if any(
                    c.get("name") == container for c in (pod.get("spec") or {}).get("initContainers") or []
                )
                else "containers"
            )
            field_path = f"spec.{kind}{{{container}}}"
        key = (meta.get("uid") or "", field_path, reason, message)
        now = now_rfc3339()
        try:
            if key in self._seen:
                name = self._seen[key]

                def bump(ev: dict[str, Any]) -> dict[str, Any]:
                    ev["count"] = int(ev.get("count") or 1) + 1
                    ev["lastTimestamp"] = now
                    return ev

                await self.store.patch_entry("events", namespace, name, bump, user=SYSTEM)
                return
        except APIError:
            pass  # expired or deleted: write a new one
        involved: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "namespace": namespace,
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        name = f"{meta.get('name')}.{time.time_ns():x}{secrets.token_hex(2)}"[:253]
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "reportingComponent": self.component,
            "reportingInstance": self.host,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.store.create_entry("events", event, namespace=namespace, user=SYSTEM)
            self._seen[key] = name
        except APIError as exc:
            log.debug("event %s for %s not recorded: %s", reason, meta.get("name"), exc)

    def forget(self, uid: str) -> None:
        for key in [k for k in self._seen if k[0] == uid]:
            del self._seen[key]
