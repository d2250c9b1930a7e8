"""Observed traffic per rollout: one probe per rollout Service through the lookaside balancer's `watch`
stream (shared by every viewer), so the card shows the share that actually moved, not the configured one."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from dashboard.probe.aggregation import TrafficWindow
from dashboard.probe.engine import Probe, ProbeRegistry, ProbeStatus, ProbeTarget, ThreadedProbeRegistry
from kube.types import ServiceInfo
from rollouts.selectors import Rollout

LOOKASIDE_SERVICE = "lookaside-svc"  # deploy/greet's lookaside balancer
DEFAULT_RATE = 50.0
RECENT_S = 5.0
# A switch is expected to move the traffic in under a second: count it in 100 ms buckets, so the time
# it took reads as 0.3 s or 1.4 s rather than "within the same second" (the dashboard's 1 s buckets).
BUCKET_S = 0.1
HORIZON_S = 300.0


class RolloutProbeRegistry(ProbeRegistry):
    """The dashboard's probe registry, with each new probe counting into a 100 ms `TrafficWindow`."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._starting = asyncio.Lock()

    async def get_or_create(self, target: ProbeTarget, rate: float = 10.0, *, start: bool = True) -> Probe:
        async with self._starting:  # one start per probe, as the base class guarantees
            probe = await super().get_or_create(target, rate, start=False)
            if not probe.running and probe.window.bucket_s != BUCKET_S:
                probe.window = TrafficWindow(
                    version_keys=self.version_keys, bucket_s=BUCKET_S, horizon_s=HORIZON_S
                )
            if start and not probe.running:
                await probe.start()
            return probe


_lock = threading.Lock()
_registry: ThreadedProbeRegistry | None = None


def traffic_registry() -> ThreadedProbeRegistry:
    """The process's probes for rollouts, on their own event loop thread."""
    global _registry
    with _lock:
        if _registry is None:
            # Greet servers report their version (the track's label) themselves: no label lookup needed.
            _registry = RolloutProbeRegistry.run_in_thread(metrics_registry=CollectorRegistry())
        return _registry


def traffic_close() -> None:
    global _registry
    with _lock:
        registry, _registry = _registry, None
    if registry is not None:
        registry.close()


def lookaside_address(*, cluster: str, namespace: str) -> str:
    """host:port of the lookaside balancer's Service, in the rollout's namespace or in default; "" if none."""
    from dashboard.hub import get_hub

    informer = get_hub().informer(cluster, "services")
    informer.wait_synced(3.0)
    for ns in dict.fromkeys((namespace, "default")):
        obj = informer.get(ns, LOOKASIDE_SERVICE)
        if obj is not None:
            svc = ServiceInfo.from_obj(obj)
            if svc.cluster_ip and not svc.headless and svc.ports:
                return f"{svc.cluster_ip}:{svc.ports[0].port}"
    return ""


def rollout_probe_target(rollout: Rollout, lookaside: str) -> ProbeTarget:
    return ProbeTarget(
        kind="grpc",
        balancing="lookaside",
        lookaside=lookaside,
        lookaside_variant="watch",
        service=rollout.name,
        namespace=rollout.namespace,
    )


def rollout_probe_start(rollout: Rollout, *, rate: float = DEFAULT_RATE) -> ProbeStatus | None:
    """Start (or find) the rollout's probe; None when no lookaside balancer is reachable in the cluster."""
    lookaside = lookaside_address(cluster=rollout.cluster, namespace=rollout.namespace)
    if not lookaside:
        return None
    return traffic_registry().get_or_create(rollout_probe_target(rollout, lookaside), rate)


def rollout_probe_stop(rollout: Rollout) -> bool:
    lookaside = lookaside_address(cluster=rollout.cluster, namespace=rollout.namespace)
    return bool(lookaside) and traffic_registry().remove(rollout_probe_target(rollout, lookaside).key)


def rollout_window(rollout: Rollout) -> TrafficWindow | None:
    with _lock:
        registry = _registry
    if registry is None:
        return None
    lookaside = lookaside_address(cluster=rollout.cluster, namespace=rollout.namespace)
    return registry.window(rollout_probe_target(rollout, lookaside).key) if lookaside else None


def track_version(rollout: Rollout, value: str) -> str:
    """The version greet answers with for a track: its `version` label, else the track value itself."""
    track = rollout.track(value)
    if track is None:
        return value
    labels = track.deployment.template_labels
    return labels.get("version") or labels.get(rollout.track_key) or value


CHART_S = 30.0  # the card's chart: the last 30 s ...
CHART_STEP_S = 0.5  # ... in half-second columns (five 100 ms buckets each)


@dataclass(frozen=True)
class ShareColumn:
    start: float  # wall clock
    answered: int
    failed: int
    shares: dict[str, float]  # track value -> share of the answers in the column


@dataclass(frozen=True)
class ObservedShare:
    running: bool
    requests: int
    failed: int
    shares: dict[str, float]  # track value -> share of answers over the last seconds
    columns: tuple[ShareColumn, ...] = ()  # the last CHART_S in CHART_STEP_S columns, oldest first
    chart_start: float = 0.0


def share_columns(
    window: TrafficWindow, by_version: dict[str, str], *, now: float, last_s: float = CHART_S
) -> tuple[float, tuple[ShareColumn, ...]]:
    """(start, columns): closed buckets of the last `last_s` grouped into CHART_STEP_S-wide columns, each
    version's answers counted under its track (`by_version`); a column without requests is left out."""
    step = CHART_STEP_S
    first = (math.floor(now / step) - round(last_s / step)) * step
    grouped: dict[int, list[Any]] = {}
    for bucket in window.buckets(after=first, include_open=False):
        if bucket.start >= first - 1e-9:
            grouped.setdefault(math.floor(bucket.start / step + 1e-9), []).append(bucket)
    columns = []
    for index in sorted(grouped):
        counts: dict[str, int] = {}
        answered = failed = 0
        for bucket in grouped[index]:
            answered += bucket.answered
            failed += bucket.failed
            for version, n in bucket.by_version().items():
                track = by_version.get(version, version)
                counts[track] = counts.get(track, 0) + n
        if answered or failed:
            shares = {t: n / answered for t, n in sorted(counts.items())} if answered else {}
            columns.append(ShareColumn(index * step, answered, failed, shares))
    return first, tuple(columns)


def observed_share(rollout: Rollout, *, last_s: float = RECENT_S) -> ObservedShare:
    window = rollout_window(rollout)
    if window is None:
        return ObservedShare(False, 0, 0, {})
    now = time.time()
    recent = window.share_since(now - last_s)
    by_version = {track_version(rollout, t.value): t.value for t in rollout.tracks}
    requests = failed = 0
    for bucket in window.buckets(after=now - 60.0):
        requests += bucket.requests
        failed += bucket.failed
    chart_start, columns = share_columns(window, by_version, now=now)
    return ObservedShare(
        running=True,
        requests=requests,
        failed=failed,
        shares={by_version.get(v, v): share for v, share in recent.items()},
        columns=columns,
        chart_start=chart_start,
    )


def switch_seconds(
    window: TrafficWindow, version: str, *, after: float, at_least: float = 0.99, min_answers: int = 5
) -> float | None:
    """Seconds from `after` (the selector patch) until the traffic had moved: the start of the first bucket
    from which every later closed bucket with at least `min_answers` answers has `at_least` of them from
    `version`. Answers are counted when they complete, so no old answer completed after that point (bar
    the 1 %); resolution is the window's bucket width. None while the latest bucket does not qualify."""
    moved_at: float | None = None
    for bucket in window.buckets(after=after, include_open=False):
        answered = bucket.answered
        if answered < max(1, min_answers):
            continue
        if bucket.by_version()[version] >= at_least * answered:
            moved_at = bucket.start if moved_at is None else moved_at
        else:
            moved_at = None
    return None if moved_at is None else max(0.0, moved_at - after)


def share_reached_seconds(
    window: TrafficWindow,
    version: str,
    *,
    after: float,
    target: float,
    tolerance: float = 0.05,
    span_s: float = 1.0,
    min_answers: int = 20,
) -> float | None:
    """Seconds from `after` (a weight change) to the end of the first trailing `span_s` of answers in
    which `version`'s share is within `tolerance` of `target` (a span, not one bucket: at 200 req/s a
    100 ms bucket holds 20 answers, too few to tell 25 % from 30 %). None until that happens."""
    buckets = window.buckets(after=after - span_s, include_open=False)
    for i, bucket in enumerate(buckets):
        end = bucket.start + bucket.width
        if end <= after:
            continue
        ours = total = 0
        for earlier in buckets[: i + 1]:
            if earlier.start >= end - span_s - 1e-9:
                ours += earlier.by_version()[version]
                total += earlier.answered
        if total >= max(1, min_answers) and abs(ours / total - target) <= tolerance:
            return end - after
    return None
