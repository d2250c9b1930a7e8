"""The traffic window on an injected clock: buckets, eviction, versions, shares, percentiles."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.probe.aggregation import BucketStats, LatencyHistogram, TrafficWindow
from dashboard.probe.parsing import Answer

BLUE = [Answer(f"blue-{i}", f"10.0.0.{i}", None) for i in range(3)]
GREEN = [Answer(f"green-{i}", f"10.0.1.{i}", None) for i in range(3)]
LABELS = {a.pod_name: {"app": a.pod_name.split("-")[0]} for a in BLUE + GREEN}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def window(clock: Clock, closed: list[BucketStats] | None = None, **kwargs: object) -> TrafficWindow:
    return TrafficWindow(
        labels_for_pod=LABELS.get,
        clock=clock,
        on_close=closed.append if closed is not None else None,
        **kwargs,  # type: ignore[arg-type]
    )


def test_answers_in_one_second_share_a_bucket_and_the_next_second_closes_it() -> None:
    clock, closed = Clock(100.2), list[BucketStats]()
    w = window(clock, closed)
    w.record_answer(BLUE[0], 0.002)
    clock.now = 100.99
    w.record_answer(BLUE[1], 0.003)
    w.record_error("UNAVAILABLE", 0.001)
    assert closed == []
    clock.now = 101.01
    w.record_answer(BLUE[0], 0.002)
    assert [(b.start, b.answered, b.failed) for b in closed] == [(100.0, 2, 1)]
    assert closed[0].by_pod() == {"blue-0": 1, "blue-1": 1}
    assert closed[0].errors == {"UNAVAILABLE": 1}


def test_tick_closes_a_second_without_traffic_once() -> None:
    clock, closed = Clock(50.5), list[BucketStats]()
    w = window(clock, closed)
    w.tick()  # opens 50
    clock.now = 51.001
    assert [b.start for b in w.tick()] == [50.0]
    assert w.tick() == []
    clock.now = 52.2
    w.tick()
    assert [(b.start, b.requests) for b in closed] == [(50.0, 0), (51.0, 0)]


def test_buckets_older_than_five_minutes_are_evicted_and_memory_stays_bounded() -> None:
    clock = Clock(1000.5)
    w = window(clock)
    w.record_answer(BLUE[0], 0.001)
    for second in range(1001, 1000 + 1000):
        clock.now = second + 0.5
        w.record_answer(GREEN[0], 0.001)
    assert len(w._closed) == 300  # the ring never grows past the horizon
    snap = w.snapshot(last_seconds=300)
    assert snap.answered == 300
    assert [v.version for v in snap.versions] == ["green"]
    assert w.snapshot(last_seconds=10_000).answered == 300  # clamped to the horizon


def test_an_old_answer_falls_out_of_the_snapshot_exactly_at_the_horizon() -> None:
    clock = Clock(10.5)
    w = window(clock)
    w.record_answer(BLUE[0], 0.001)
    clock.now = 310.5  # bucket 10 is the 300th closed second before 310
    assert w.snapshot(last_seconds=300).answered == 1
    clock.now = 311.0
    assert w.snapshot(last_seconds=300).answered == 0


def test_version_comes_from_the_first_present_label_then_the_answer() -> None:
    labels: Mapping[str, Mapping[str, str]] = {
        "a": {"version": "v2", "app": "greet"},
        "b": {"app": "blue", "track": "stable"},
        "c": {"track": "canary"},
        "d": {"version": ""},
    }
    w = TrafficWindow(labels_for_pod=labels.get)
    assert w.version_of(Answer("a", "1", "v9")) == "v2"
    assert w.version_of(Answer("b", "1", None)) == "blue"
    assert w.version_of(Answer("c", "1", None)) == "canary"
    assert w.version_of(Answer("d", "1", "v9")) == "v9"  # an empty label is no label
    assert w.version_of(Answer("unknown-pod", "1", None)) == "unknown"
    tracked = TrafficWindow(labels_for_pod=labels.get, version_keys=("track",))
    assert tracked.version_of(Answer("b", "1", None)) == "stable"
    assert TrafficWindow().version_of(Answer("a", "1", "v3")) == "v3"


def test_snapshot_columns_shares_rates_and_totals() -> None:
    clock = Clock(200.0)
    w = window(clock)
    # second 200: 3 blue; 201: nothing (probe off); 202: 1 blue, 3 green, 1 error
    for pod in BLUE:
        w.record_answer(pod, 0.010)
    clock.now = 202.3
    w.record_answer(BLUE[0], 0.010)
    for pod in GREEN:
        w.record_answer(pod, 0.020)
    w.record_error("DEADLINE_EXCEEDED", 1.0)
    clock.now = 203.1
    snap = w.snapshot(last_seconds=4)
    assert snap.starts == (199.0, 200.0, 201.0, 202.0)
    assert snap.requests_per_s == (None, 3.0, None, 5.0)
    assert snap.error_rate == (None, 0.0, None, 0.2)
    assert snap.shares == {"blue": (None, 1.0, None, 0.25), "green": (None, 0.0, None, 0.75)}
    assert (snap.requests, snap.answered, snap.failed) == (8, 7, 1)
    assert snap.errors_by_code == {"DEADLINE_EXCEEDED": 1}
    assert snap.rate == 4.0  # over the two seconds the probe ran
    assert snap.error_rate_total == pytest.approx(1 / 8)
    blue, green = snap.versions
    assert (blue.version, blue.answers, green.version, green.answers) == ("blue", 4, "green", 3)
    assert [(p.name, p.ip, p.answers) for p in blue.pods] == [
        ("blue-0", "10.0.0.0", 2),
        ("blue-1", "10.0.0.1", 1),
        ("blue-2", "10.0.0.2", 1),
    ]
    assert sum(p.share for v in snap.versions for p in v.pods) == pytest.approx(1.0)
    assert snap.as_dict()["versions"][0]["pods"][0]["name"] == "blue-0"
    # the open second is left out unless asked for
    w.record_answer(GREEN[0], 0.001)
    assert w.snapshot(last_seconds=4).answered == 7
    assert w.snapshot(last_seconds=4, include_open=True).answered == 8


def test_percentiles_per_bucket_are_within_the_histogram_resolution() -> None:
    clock = Clock(300.1)
    w = window(clock)
    for ms in range(1, 101):
        w.record_answer(BLUE[0], ms / 1000)
    clock.now = 301.5
    w.record_answer(BLUE[0], 0.0042)
    clock.now = 302.0
    snap = w.snapshot(last_seconds=2)
    assert snap.p50_ms[0] == pytest.approx(50, rel=0.045)
    assert snap.p99_ms[0] == pytest.approx(99, rel=0.045)
    # one sample: min and max clamp the bin to the exact value
    assert snap.p50_ms[1] == snap.p99_ms[1] == 4.2
    assert snap.p99_ms_total == pytest.approx(99, rel=0.045)


@given(
    st.lists(st.floats(min_value=1e-5, max_value=30.0), min_size=1, max_size=300),
    st.sampled_from([0.5, 0.9, 0.99]),
)
def test_histogram_quantile_is_close_to_the_exact_nearest_rank(samples: list[float], q: float) -> None:
    histogram = LatencyHistogram()
    for s in samples:
        histogram.add(s)
    exact = sorted(samples)[max(1, math.ceil(q * len(samples))) - 1]
    estimate = histogram.quantile(q)
    assert estimate is not None
    assert estimate == pytest.approx(exact, rel=0.045)


def switch_traffic(w: TrafficWindow, clock: Clock, per_second: list[tuple[int, int]], start: int) -> None:
    """(blue, green) answers in each second from ``start`` on."""
    for offset, (blue, green) in enumerate(per_second):
        clock.now = start + offset + 0.5
        for i in range(blue):
            w.record_answer(BLUE[i % 3], 0.001)
        for i in range(green):
            w.record_answer(GREEN[i % 3], 0.001)


def test_first_second_with_share_finds_when_the_new_colour_took_over() -> None:
    clock = Clock(0)
    w = window(clock)
    switch_traffic(w, clock, [(200, 0), (100, 100), (1, 199), (0, 200)], start=100)
    switched_at = 101.4
    assert w.first_second_with_share("green", at_least=0.99, after=switched_at) == 102.0
    assert w.first_second_with_share("green", at_least=1.0, after=switched_at) is None  # 103 is still open
    clock.now = 104.0
    assert w.first_second_with_share("green", at_least=1.0, after=switched_at) == 103.0
    assert w.first_second_with_share("blue", after=99.0) == 100.0
    assert w.first_second_with_share("blue", after=101.0) is None
    assert w.share_since(102.0) == {"blue": pytest.approx(1 / 400), "green": pytest.approx(399 / 400)}
    assert w.pod_counts_since(103.0) == {"green-0": 67, "green-1": 67, "green-2": 66}


def test_first_second_with_share_skips_thin_buckets() -> None:
    clock = Clock(0)
    w = window(clock)
    switch_traffic(w, clock, [(0, 1), (5, 95), (0, 100)], start=10)
    clock.now = 20.0
    assert w.first_second_with_share("green", after=10.0) == 10.0
    assert w.first_second_with_share("green", after=10.0, min_answers=50) == 12.0


def test_sub_second_buckets_for_finer_switch_timing() -> None:
    clock = Clock(5.0)
    w = window(clock, bucket_s=0.1, horizon_s=30)
    for step in range(20):
        clock.now = 5.0 + step * 0.1 + 0.05
        w.record_answer(GREEN[0] if step >= 7 else BLUE[0], 0.001)
    clock.now = 8.0
    assert w.first_second_with_share("green", after=5.55) == pytest.approx(5.7)
    assert w.snapshot(last_seconds=3).requests_per_s[-1] is None
    assert w.capacity == 300


@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=40.0), min_size=1, max_size=120),
    failed=st.lists(st.booleans(), min_size=120, max_size=120),
)
def test_totals_equal_the_outcomes_recorded_within_the_horizon(gaps: list[float], failed: list[bool]) -> None:
    clock = Clock(1_000.0)
    w = window(clock, horizon_s=60)
    times = []
    for gap, is_error in zip(gaps, failed, strict=False):
        clock.now += gap
        times.append(clock.now)
        if is_error:
            w.record_error("timeout", 1.0)
        else:
            w.record_answer(BLUE[len(times) % 3], 0.001)
    last = int(clock.now)
    kept = [t for t in times if int(t) > last - 60]
    snap = w.snapshot(last_seconds=60, include_open=True)
    assert snap.requests == len(kept)
    assert snap.answered + snap.failed == snap.requests
    assert sum(v.answers for v in snap.versions) == snap.answered
    assert sum(r for r in snap.requests_per_s if r is not None) == len(kept)
    # the ring holds the horizon's closed seconds plus the open one
    assert sum(b.requests for b in w.buckets()) == len([t for t in times if int(t) >= last - 60])
