"""The process's one probe registry, and the live push of each probe's window to its viewers.

One ``ThreadedProbeRegistry`` per daphne process, created on first use: one probe per target, shared by
every viewer. Answers are counted under the answering pod's labels, read from the watch hub's pod cache.

Refresh: buckets stay 1 s wide (a second is what req/s means, and a share over 250 ms at 20 req/s would
be noise), and viewers get a frame
- at once when a bucket closes (the probe thread hands it to the server loop), so the time series moves
  within milliseconds of the second ending, and
- every ``PUSH_INTERVAL_S`` (4 Hz) in between, with the open bucket's running totals, so the bars and the
  "this second so far" figures move four times a second.
A frame is built once per probe and tick and sent to the probe's Channels group, whatever the number of
viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Mapping

from channels.layers import get_channel_layer

from dashboard.metrics import REGISTRY
from dashboard.probe.aggregation import BucketStats
from dashboard.probe.engine import ProbeRegistry, ThreadedProbeRegistry

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 0.25
LABELS_TTL_S = 2.0  # how long a pod's labels are reused before the cache is read again

_lock = threading.Lock()
_registry: ThreadedProbeRegistry | None = None


def group_name(key: str) -> str:
    """The Channels group of one probe's viewers (group names allow only [A-Za-z0-9._-])."""
    return f"traffic.{hashlib.sha1(key.encode()).hexdigest()[:16]}"


class PodLabels:
    """``labels_for_pod`` for the probe: a pod's labels from the watch hub's pod caches (every cluster
    the hub watches pods in), remembered for ``LABELS_TTL_S`` so 1000 answers a second cost no scans."""

    def __init__(self, ttl: float = LABELS_TTL_S) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Mapping[str, str] | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, pod_name: str) -> Mapping[str, str] | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(pod_name)
        if hit is not None and hit[0] > now:
            return hit[1]
        labels = self._lookup(pod_name)
        with self._lock:
            if len(self._cache) > 10_000:  # pods come and go; never grow without bound
                self._cache.clear()
            self._cache[pod_name] = (now + self.ttl, labels)
        return labels

    @staticmethod
    def _lookup(pod_name: str) -> Mapping[str, str] | None:
        from dashboard import hub

        current = hub._hub  # the hub as it is: labels are a nicety, never a reason to start one
        if current is None:
            return None
        for informer in current.informers():
            if informer.kind.name != "pods":
                continue
            for pod in informer.items():
                meta = pod.get("metadata") or {}
                if meta.get("name") == pod_name:
                    labels = meta.get("labels") or {}
                    return {str(k): str(v) for k, v in labels.items()}
        return None


def get_registry() -> ThreadedProbeRegistry:
    global _registry
    with _lock:
        if _registry is None:
            _registry = ProbeRegistry.run_in_thread(
                labels_for_pod=PodLabels(),
                metrics_registry=REGISTRY,  # /metrics shows the probe figures beside ours
                on_bucket_closed=_bucket_closed,
            )
        return _registry


def current_registry() -> ThreadedProbeRegistry | None:
    """The registry if one was created (a viewer's page never starts the probe thread)."""
    return _registry


def reset_registry() -> None:
    """Stop every probe and the probe thread (tests; the process exiting)."""
    global _registry
    with _lock:
        registry, _registry = _registry, None
    if registry is not None:
        registry.close()


# -- the live push ------------------------------------------------------------------------------------


class Broadcaster:
    """Runs on the server's event loop: a 4 Hz ticker for every probe someone watches, plus an
    immediate frame when a probe's bucket closes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.watchers: dict[str, int] = {}
        self.closed_at: dict[str, tuple[float, float]] = {}  # key -> (bucket start, wall time it closed)
        self._task: asyncio.Task[None] | None = None
        self.frames_sent = 0

    def watch(self, key: str) -> None:
        self.watchers[key] = self.watchers.get(key, 0) + 1
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run(), name="traffic-broadcaster")

    def unwatch(self, key: str) -> None:
        left = self.watchers.get(key, 0) - 1
        if left > 0:
            self.watchers[key] = left
        else:
            self.watchers.pop(key, None)
            if not self.watchers and self._task is not None:
                self._task.cancel()
                self._task = None

    def bucket_closed(self, key: str, start: float, closed_at: float) -> None:
        """On the loop: remember when the bucket closed and push a frame now."""
        self.closed_at[key] = (start, closed_at)
        if key in self.watchers:
            self.loop.create_task(self.push(key))

    async def _run(self) -> None:
        while self.watchers:
            started = time.monotonic()
            for key in list(self.watchers):
                try:
                    await self.push(key)
                except Exception:  # one probe's frame must not stop the others
                    log.exception("traffic frame for %s failed", key)
            await asyncio.sleep(max(0.0, PUSH_INTERVAL_S - (time.monotonic() - started)))

    async def push(self, key: str) -> None:
        from dashboard.selectors import traffic_frame_get

        layer = get_channel_layer()
        if layer is None:
            return
        frame = traffic_frame_get(key=key)
        closed = self.closed_at.get(key)
        if closed is not None:
            frame["closed"] = {"start": closed[0], "at": closed[1]}
        frame["sent_at"] = time.time()
        await layer.group_send(group_name(key), {"type": "traffic.frame", "text": json.dumps(frame)})
        self.frames_sent += 1


_broadcaster: Broadcaster | None = None


def broadcaster(loop: asyncio.AbstractEventLoop) -> Broadcaster:
    """The loop's broadcaster (a new one if the server's loop changed, as it does between tests)."""
    global _broadcaster
    if _broadcaster is None or _broadcaster.loop is not loop or loop.is_closed():
        _broadcaster = Broadcaster(loop)
    return _broadcaster


def _bucket_closed(key: str, bucket: BucketStats) -> None:
    # On the probe thread: hand over to the server loop, never block the probe.
    closed_at = time.time()
    current = _broadcaster
    if current is None or current.loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
        current.loop.call_soon_threadsafe(current.bucket_closed, key, bucket.start, closed_at)
