"""The probe's memory: 1 s buckets over the last 5 minutes, by pod, by version, by error code, with latency.

Each bucket holds the requests that *completed* in it. Buckets live in a ring (``deque(maxlen=...)``),
so memory is bounded by ``horizon_s / bucket_s`` buckets whatever the rate, and each bucket is bounded
by the number of pods, error codes and latency bins it saw.

Latency is kept as a fixed log-binned histogram per bucket, not as raw samples: 8 bins per octave from
10 µs (about 190 bins up to a minute, typically a dozen in use), so a bucket costs the same at 1 req/s and
at 1000 req/s, buckets merge exactly (a p99 over 5 minutes is a sum of counts, not a sort of 300 000
samples at 4 snapshots a second), and the reported value is the bin's geometric middle, clamped to the
bucket's exact min and max: within ±4.5 % of the exact percentile, finer than a chart can show.

The window is written from the probe's event loop and read from web threads, hence one lock. Callbacks
(``on_close``) run outside the lock, on the thread that closed the bucket (the probe's ticker).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dashboard.probe.parsing import Answer

DEFAULT_VERSION_KEYS = ("version", "app", "track")
UNKNOWN_VERSION = "unknown"
HORIZON_S = 300.0
BUCKET_S = 1.0

LabelsForPod = Callable[[str], Mapping[str, str] | None]
Clock = Callable[[], float]

_LATENCY_FLOOR_S = 1e-5
_BINS_PER_OCTAVE = 8


def latency_bin(seconds: float) -> int:
    if seconds <= _LATENCY_FLOOR_S:
        return 0
    return int(math.log2(seconds / _LATENCY_FLOOR_S) * _BINS_PER_OCTAVE)


def bin_middle(index: int) -> float:
    return float(_LATENCY_FLOOR_S * 2 ** ((index + 0.5) / _BINS_PER_OCTAVE))


@dataclass
class LatencyHistogram:
    bins: Counter[int] = field(default_factory=Counter)
    count: int = 0
    low: float = math.inf
    high: float = 0.0

    def add(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.bins[latency_bin(seconds)] += 1
        self.count += 1
        self.low = min(self.low, seconds)
        self.high = max(self.high, seconds)

    def merge(self, other: LatencyHistogram) -> None:
        self.bins.update(other.bins)
        self.count += other.count
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def quantile(self, q: float) -> float | None:
        """The q-quantile in seconds (nearest rank), or None without samples."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.bins):
            seen += self.bins[index]
            if seen >= rank:
                return min(self.high, max(self.low, bin_middle(index)))
        return self.high  # unreachable: the bins sum to count

    def copy(self) -> LatencyHistogram:
        return LatencyHistogram(Counter(self.bins), self.count, self.low, self.high)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


@dataclass
class BucketStats:
    """One bucket: what completed in ``[start, start + width)``."""

    index: int  # start / width
    width: float
    answers: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (version, pod, ip) -> n
    errors: Counter[str] = field(default_factory=Counter)  # code -> n
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def start(self) -> float:
        return self.index * self.width

    @property
    def answered(self) -> int:
        return sum(self.answers.values())

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def requests(self) -> int:
        return self.answered + self.failed

    def by_version(self) -> Counter[str]:
        counts = Counter[str]()
        for (version, _pod, _ip), n in self.answers.items():
            counts[version] += n
        return counts

    def by_pod(self) -> Counter[str]:
        counts = Counter[str]()
        for (_version, pod, _ip), n in self.answers.items():
            counts[pod] += n
        return counts

    def copy(self) -> BucketStats:
        return BucketStats(
            self.index, self.width, Counter(self.answers), Counter(self.errors), self.latency.copy()
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data for a push to browsers."""
        return {
            "start": self.start,
            "width": self.width,
            "requests": self.requests,
            "answered": self.answered,
            "failed": self.failed,
            "by_version": dict(self.by_version()),
            "by_pod": dict(self.by_pod()),
            "errors": dict(self.errors),
            "p50_ms": _ms(self.latency.quantile(0.5)),
            "p99_ms": _ms(self.latency.quantile(0.99)),
        }


@dataclass(frozen=True)
class PodTotal:
    name: str
    ip: str
    version: str
    answers: int
    share: float  # of all answers in the snapshot


@dataclass(frozen=True)
class VersionTotal:
    version: str
    answers: int
    share: float
    pods: tuple[PodTotal, ...]


@dataclass(frozen=True)
class TrafficSnapshot:
    """Ready to render. Series are columns aligned with ``starts`` (uPlot's layout); ``None`` marks a
    bucket the probe did not run in (or, for shares and latency, one without answers)."""

    taken_at: float
    bucket_s: float
    starts: tuple[float, ...]
    requests_per_s: tuple[float | None, ...]
    error_rate: tuple[float | None, ...]
    p50_ms: tuple[float | None, ...]
    p99_ms: tuple[float | None, ...]
    shares: dict[str, tuple[float | None, ...]]  # version -> share of answers per bucket
    versions: tuple[VersionTotal, ...]  # per-pod totals, grouped by version
    requests: int
    answered: int
    failed: int
    errors_by_code: dict[str, int]
    rate: float  # req/s over the buckets the probe ran in
    error_rate_total: float | None
    p50_ms_total: float | None
    p99_ms_total: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrafficWindow:
    """Outcomes of probe requests in ``bucket_s`` buckets over the last ``horizon_s`` seconds."""

    def __init__(
        self,
        *,
        labels_for_pod: LabelsForPod | None = None,
        version_keys: Sequence[str] = DEFAULT_VERSION_KEYS,
        horizon_s: float = HORIZON_S,
        bucket_s: float = BUCKET_S,
        clock: Clock = time.time,
        on_close: Callable[[BucketStats], None] | None = None,
    ) -> None:
        if bucket_s <= 0 or horizon_s < bucket_s:
            raise ValueError("need 0 < bucket_s <= horizon_s")
        self.labels_for_pod = labels_for_pod
        self.version_keys = tuple(version_keys)
        self.bucket_s = bucket_s
        self.capacity = round(horizon_s / bucket_s)
        self.clock = clock
        self.on_close = on_close
        self._closed: deque[BucketStats] = deque(maxlen=self.capacity)
        self._open: BucketStats | None = None
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------------

    def version_of(self, answer: Answer) -> str:
        """The first present label of ``version_keys`` on the pod, else the answer's own version."""
        labels = self.labels_for_pod(answer.pod_name) if self.labels_for_pod is not None else None
        for key in self.version_keys:
            value = labels.get(key) if labels else None
            if value:
                return value
        return answer.version or UNKNOWN_VERSION

    def record_answer(self, answer: Answer, latency_s: float) -> str:
        """Count the answer in the current bucket; returns the version it was counted under."""
        version = self.version_of(answer)  # outside the lock: the callback may take the watch cache's
        closed = self._record(
            lambda bucket: bucket.answers.update(((version, answer.pod_name, answer.pod_ip),)), latency_s
        )
        self._emit(closed)
        return version

    def record_error(self, code: str, latency_s: float | None = None) -> None:
        """A failed request; ``latency_s`` None when it never got an answer time (e.g. not sent)."""
        closed = self._record(lambda bucket: bucket.errors.update((code,)), latency_s)
        self._emit(closed)

    def tick(self) -> list[BucketStats]:
        """Close the open bucket if its time is over and open the current one (even without traffic,
        so a second in which every request hung still shows up). Returns the buckets it closed."""
        with self._lock:
            closed = self._advance(self._index(self.clock()))
        self._emit(closed)
        return closed

    def clear(self) -> None:
        with self._lock:
            self._closed.clear()
            self._open = None

    def _index(self, t: float) -> int:
        return math.floor(t / self.bucket_s)

    def _advance(self, index: int) -> list[BucketStats]:
        closed: list[BucketStats] = []
        if self._open is not None and self._open.index < index:
            self._closed.append(self._open)
            closed.append(self._open)
            self._open = None
        if self._open is None:
            self._open = BucketStats(index, self.bucket_s)
        return closed

    def _record(self, update: Callable[[BucketStats], object], latency_s: float | None) -> list[BucketStats]:
        with self._lock:
            closed = self._advance(self._index(self.clock()))
            assert self._open is not None
            # A clock that stepped back lands in the open bucket: closed buckets never change.
            update(self._open)
            if latency_s is not None:
                self._open.latency.add(latency_s)
        return closed

    def _emit(self, closed: Iterable[BucketStats]) -> None:
        if self.on_close is not None:
            for bucket in closed:
                self.on_close(bucket)

    # -- reading ---------------------------------------------------------------------------------

    def buckets(self, *, after: float | None = None, include_open: bool = True) -> list[BucketStats]:
        """Copies of the buckets in the horizon, oldest first; ``after`` keeps those ending after it.
        An open bucket whose time is over counts as closed (only a tick or a record closes it)."""
        with self._lock:
            now_index = self._index(self.clock())
            oldest = now_index - self.capacity - 1  # the ring holds `capacity` closed buckets
            if after is not None:
                oldest = max(oldest, self._index(after) - 1)
            chosen = [b for b in self._closed if b.index > oldest]
            current = self._open
            if current is not None and current.index > oldest and (include_open or current.index < now_index):
                chosen.append(current)
            return [b.copy() for b in chosen]

    def share_since(self, t: float) -> dict[str, float]:
        """Each version's fraction of the answers in the buckets from the one holding ``t`` on."""
        counts = Counter[str]()
        for bucket in self.buckets(after=t):
            counts.update(bucket.by_version())
        total = sum(counts.values())
        return {version: n / total for version, n in sorted(counts.items())} if total else {}

    def pod_counts_since(self, t: float) -> dict[str, int]:
        counts = Counter[str]()
        for bucket in self.buckets(after=t):
            counts.update(bucket.by_pod())
        return dict(sorted(counts.items()))

    def first_second_with_share(
        self, version: str, *, at_least: float = 0.99, after: float, min_answers: int = 1
    ) -> float | None:
        """Start time of the first closed bucket, from the one holding ``after`` on, in which ``version``
        has at least ``at_least`` of the answers (buckets with fewer than ``min_answers`` are skipped).
        ``start - after`` is then the time the traffic took to move, at bucket resolution."""
        for bucket in self.buckets(after=after, include_open=False):
            answered = bucket.answered
            if answered >= max(1, min_answers) and bucket.by_version()[version] >= at_least * answered:
                return bucket.start
        return None

    def snapshot(self, last_seconds: float = 60.0, *, include_open: bool = False) -> TrafficSnapshot:
        """The last ``last_seconds`` (at most the horizon) as columns and totals."""
        taken_at = self.clock()
        now_index = self._index(taken_at)
        count = min(self.capacity, max(1, round(last_seconds / self.bucket_s)))
        last = now_index if include_open else now_index - 1
        first = last - count + 1
        present = {
            b.index: b
            for b in self.buckets(after=first * self.bucket_s, include_open=include_open)
            if first <= b.index <= last
        }
        indices = range(first, last + 1)

        answers = Counter[tuple[str, str, str]]()
        errors = Counter[str]()
        latency = LatencyHistogram()
        versions: set[str] = set()
        for bucket in present.values():
            answers.update(bucket.answers)
            errors.update(bucket.errors)
            latency.merge(bucket.latency)
            versions.update(v for v, _pod, _ip in bucket.answers)

        per_bucket_versions = {i: b.by_version() for i, b in present.items()}
        shares: dict[str, tuple[float | None, ...]] = {}
        for version in sorted(versions):
            column: list[float | None] = []
            for i in indices:
                answered = present[i].answered if i in present else 0
                column.append(per_bucket_versions[i][version] / answered if answered else None)
            shares[version] = tuple(column)

        def per_bucket(value: Callable[[BucketStats], float | None]) -> tuple[float | None, ...]:
            return tuple(value(present[i]) if i in present else None for i in indices)

        answered_total = sum(answers.values())
        failed_total = sum(errors.values())
        requests_total = answered_total + failed_total
        return TrafficSnapshot(
            taken_at=taken_at,
            bucket_s=self.bucket_s,
            starts=tuple(i * self.bucket_s for i in indices),
            requests_per_s=per_bucket(lambda b: b.requests / b.width),
            error_rate=per_bucket(lambda b: b.failed / b.requests if b.requests else None),
            p50_ms=per_bucket(lambda b: _ms(b.latency.quantile(0.5))),
            p99_ms=per_bucket(lambda b: _ms(b.latency.quantile(0.99))),
            shares=shares,
            versions=_group_by_version(answers, answered_total),
            requests=requests_total,
            answered=answered_total,
            failed=failed_total,
            errors_by_code=dict(sorted(errors.items())),
            rate=requests_total / (len(present) * self.bucket_s) if present else 0.0,
            error_rate_total=failed_total / requests_total if requests_total else None,
            p50_ms_total=_ms(latency.quantile(0.5)),
            p99_ms_total=_ms(latency.quantile(0.99)),
        )


def _group_by_version(answers: Counter[tuple[str, str, str]], total: int) -> tuple[VersionTotal, ...]:
    by_version: dict[str, list[PodTotal]] = {}
    for (version, pod, ip), n in sorted(answers.items()):
        by_version.setdefault(version, []).append(PodTotal(pod, ip, version, n, n / total))
    return tuple(
        VersionTotal(version, sum(p.answers for p in pods), sum(p.answers for p in pods) / total, tuple(pods))
        for version, pods in by_version.items()
    )
