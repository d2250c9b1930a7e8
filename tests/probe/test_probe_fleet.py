"""Probes against real greet processes on loopback: three servers (127.0.0.2-4), the lookaside balancer
(static source), a DNS server for the headless name and one gateway (lookaside watch)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from dashboard.probe.aggregation import BucketStats, TrafficSnapshot
from dashboard.probe.engine import MAX_RATE, MIN_RATE, Probe, ProbeRegistry, ProbeTarget
from tests.greet.conftest import SERVICE_NAME, Fleet, start_fleet

PODS = ("greetserver-1", "greetserver-2", "greetserver-3")
# greetserver-1 plays blue, the others green: the window must take the version from these labels.
LABELS = {
    "greetserver-1": {"app": "blue"},
    "greetserver-2": {"app": "green"},
    "greetserver-3": {"app": "green"},
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = start_fleet(tmp_path_factory.mktemp("probe-fleet"), ["lookaside_watch"])
    yield fleet
    fleet.stop()


def targets(fleet: Fleet) -> dict[str, ProbeTarget]:
    headless = f"{SERVICE_NAME}:{fleet.port}"
    return {
        "pick_first": ProbeTarget(
            kind="grpc", balancing="pick_first", address=headless, dns_server=fleet.dns_server
        ),
        "round_robin": ProbeTarget(
            kind="grpc", balancing="round_robin", address=headless, dns_server=fleet.dns_server
        ),
        "lookaside_watch": ProbeTarget(kind="grpc", balancing="lookaside", lookaside=fleet.lookaside),
        "gateway": ProbeTarget(kind="gateway", url=fleet.gateways["lookaside_watch"]),
    }


def pod_counts(snapshot: TrafficSnapshot) -> dict[str, int]:
    return {pod.name: pod.answers for version in snapshot.versions for pod in version.pods}


async def test_round_robin_lookaside_and_gateway_spread_while_pick_first_sticks(fleet: Fleet) -> None:
    metrics = CollectorRegistry()
    registry = ProbeRegistry(labels_for_pod=LABELS.get, metrics_registry=metrics)
    paths = targets(fleet)
    probes = {name: await registry.get_or_create(target, rate=100) for name, target in paths.items()}
    try:
        # Every viewer of a target shares its probe, even when asking at the same moment.
        again = await asyncio.gather(
            *(registry.get_or_create(paths["round_robin"], rate=5) for _ in range(3))
        )
        assert all(p is probes["round_robin"] for p in again)
        assert probes["round_robin"].rate == 100
        await asyncio.sleep(3.0)
    finally:
        await registry.close()
    assert {s.key for s in registry.list()} == {t.key for t in paths.values()}
    assert not any(s.running for s in registry.list())

    for name, probe in probes.items():
        status = probe.status()
        snapshot = probe.window.snapshot(last_seconds=10, include_open=True)
        counts = pod_counts(snapshot)
        print(name, status.sent, status.failed, counts, snapshot.p50_ms_total, snapshot.p99_ms_total)
        assert 200 <= status.sent <= 400, (name, status)  # 100 req/s for ~3 s, generously
        assert status.in_flight == 0
        assert snapshot.requests == status.answered + status.failed == status.sent
        assert status.failed <= 0.01 * status.sent, (name, status.errors_by_code)
        assert [v.version for v in snapshot.versions] == (
            ["blue"] if name == "pick_first" else ["blue", "green"]
        )
        answered = metrics.get_sample_value(
            "switchyard_probe_requests_total", {"target": probe.key, "outcome": "answered", "code": "OK"}
        )
        assert answered == status.answered
        if name == "pick_first":
            assert counts == {"greetserver-1": status.answered}  # the first A record, every time
        else:
            assert set(counts) == set(PODS), (name, counts)
            for pod in PODS:
                assert 0.25 <= counts[pod] / status.answered <= 0.42, (name, counts)
            shares = probe.window.share_since(status.started_at or 0)
            assert shares["blue"] == pytest.approx(1 / 3, abs=0.08), (name, shares)


async def test_set_rate_changes_the_achieved_rate_and_clamps(fleet: Fleet) -> None:
    probe = Probe(targets(fleet)["lookaside_watch"], rate=20, metrics_registry=CollectorRegistry())
    assert probe.set_rate(5000) == MAX_RATE
    assert probe.set_rate(0) == MIN_RATE
    probe.set_rate(20)
    await probe.start()
    try:
        await asyncio.sleep(2.0)
        slow = probe.status().sent
        probe.set_rate(200)
        await asyncio.sleep(2.0)
        fast = probe.status().sent - slow
    finally:
        await probe.stop()
    print({"slow": slow, "fast": fast})
    assert 20 <= slow <= 60  # 40 expected
    assert 250 <= fast <= 450  # 400 expected
    assert probe.status().failed == 0, probe.status().errors_by_code
    assert not probe.running and probe.status().rate == 200


def test_threaded_registry_serves_sync_callers_and_reports_closed_buckets(fleet: Fleet) -> None:
    closed: list[tuple[str, BucketStats, str]] = []

    def on_bucket_closed(key: str, bucket: BucketStats) -> None:
        closed.append((key, bucket, threading.current_thread().name))

    target = targets(fleet)["round_robin"]
    with ProbeRegistry.run_in_thread(
        metrics_registry=CollectorRegistry(), on_bucket_closed=on_bucket_closed
    ) as probes:
        status = probes.get_or_create(target, rate=50)
        assert status.running and status.key == target.key
        assert probes.get_or_create(target, rate=1).rate == 50
        time.sleep(2.5)
        assert probes.set_rate(target.key, 10).rate == 10
        with pytest.raises(KeyError):
            probes.set_rate("no such probe", 10)
        snapshot = probes.snapshot(target.key, last_seconds=5)
        assert snapshot is not None and snapshot.answered >= 40
        assert probes.stop(target.key) is True
        assert [s.running for s in probes.list()] == [False]
        thread = probes._thread
    assert not thread.is_alive()
    # The ticker closes a bucket every second, on the probe's loop thread.
    assert len(closed) >= 2
    assert {key for key, _, _ in closed} == {target.key}
    assert {name for _, _, name in closed} == {"probe-loop"}
    starts = [bucket.start for _, bucket, _ in closed]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
