"""A backend that never answers and an event loop that stalls must not make the probe unbounded."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from dashboard.probe.engine import TIMEOUT, Probe, ProbeTarget


@pytest.fixture
def silent_backend() -> Iterator[str]:
    """A loopback port that accepts TCP connections and never says a word (no HTTP/2 preface)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


async def test_requests_to_a_silent_backend_end_at_their_deadline(silent_backend: str) -> None:
    probe = Probe(
        ProbeTarget(kind="grpc", balancing="pick_first", address=silent_backend),
        rate=100,
        deadline=0.2,
        metrics_registry=CollectorRegistry(),
    )
    peak = 0
    await probe.start()
    try:
        for _ in range(20):
            await asyncio.sleep(0.05)
            peak = max(peak, probe.status().in_flight)
    finally:
        await probe.stop()
    status = probe.status()
    assert status.answered == 0 and status.failed == status.sent >= 50
    assert set(status.errors_by_code) <= {"DEADLINE_EXCEEDED", TIMEOUT}, status.errors_by_code
    assert 5 <= peak <= probe.max_in_flight == 40  # about rate * deadline = 20
    assert status.in_flight == 0
    snapshot = probe.window.snapshot(last_seconds=5, include_open=True)
    assert snapshot.failed == status.failed and snapshot.error_rate_total == 1.0


async def test_a_stalled_loop_skips_sends_instead_of_bursting(silent_backend: str) -> None:
    probe = Probe(
        ProbeTarget(kind="grpc", balancing="pick_first", address=silent_backend),
        rate=100,
        deadline=0.2,
        metrics_registry=CollectorRegistry(),
    )
    await probe.start()
    try:
        await asyncio.sleep(0.3)
        time.sleep(2.0)  # noqa: ASYNC251 — the point: the loop is blocked and the schedule falls behind
        await asyncio.sleep(0.3)
        peak_after_stall = probe.status().in_flight
    finally:
        await probe.stop()
    status = probe.status()
    print(status)
    # 2.6 s at 100 req/s would be 260 sends; at most 1 s is made up, and no more than the in-flight
    # bound (2 * rate * deadline = 40) leaves at once.
    assert status.sent <= 200, status
    assert status.skipped >= 80, status
    assert status.sent + status.skipped >= 200  # every scheduled send is either made or counted
    assert peak_after_stall <= probe.max_in_flight
