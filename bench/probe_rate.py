"""Achieved vs requested rate of the traffic probe at 100, 500 and 1000 req/s via lookaside ``watch``.

Starts three greet servers (127.0.0.2-4), the lookaside balancer (static source) and a DNS server with
the fixtures of tests/greet, then runs one probe per rate: a short warm-up, then a measured phase.
Prints per rate: sent and answered per second, failures, skipped sends, CPU time of this process per
answered request (the probe's own cost: scheduling, gRPC client, parsing, aggregation), p50/p99 from
the probe's window, the per-pod spread, and the lag from a bucket's end to its close callback.
The last line is one JSON object.

    python bench/probe_rate.py [--quick]      # --quick: 2 s per rate, well under 30 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: make the project (and tests/greet's fixtures) importable
    sys.path.insert(0, str(ROOT))

RATES = (100.0, 500.0, 1000.0)
WARM_UP_S = 0.5
WALL_LIMIT_S = 28.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


async def measure(lookaside: str, rate: float, seconds: float) -> dict[str, Any]:
    from prometheus_client import CollectorRegistry

    from dashboard.probe.aggregation import BucketStats, TrafficWindow
    from dashboard.probe.engine import Probe, ProbeTarget

    lags_ms: list[float] = []

    def on_close(bucket: BucketStats) -> None:
        lags_ms.append((time.time() - (bucket.start + bucket.width)) * 1000)

    probe = Probe(
        ProbeTarget(kind="grpc", balancing="lookaside", lookaside=lookaside, lookaside_variant="watch"),
        rate,
        window=TrafficWindow(on_close=on_close),
        metrics_registry=CollectorRegistry(),
    )
    await probe.start()
    try:
        await asyncio.sleep(WARM_UP_S)
        before, cpu_before, wall_before = probe.status(), time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        after, cpu_after, wall_after = probe.status(), time.process_time(), time.monotonic()
    finally:
        await probe.stop()
    elapsed = wall_after - wall_before
    answered = after.answered - before.answered
    snapshot = probe.window.snapshot(last_seconds=math.ceil(seconds) + 2, include_open=True)
    pods = {pod.name: pod.answers for version in snapshot.versions for pod in version.pods}
    return {
        "requested_rps": rate,
        "sent_rps": round((after.sent - before.sent) / elapsed, 1),
        "answered_rps": round(answered / elapsed, 1),
        "achieved_ratio": round(answered / elapsed / rate, 4),
        "failed": after.failed,
        "skipped": after.skipped,
        "cpu_us_per_request": round((cpu_after - cpu_before) / max(1, answered) * 1e6, 1),
        "p50_ms": snapshot.p50_ms_total,
        "p99_ms": snapshot.p99_ms_total,
        "pods": dict(sorted(pods.items())),
        "close_lag_p95_ms": round(quantile(lags_ms, 0.95), 2),
    }


async def run(lookaside: str, seconds: float) -> list[dict[str, Any]]:
    results = []
    for rate in RATES:
        result = await measure(lookaside, rate, seconds)
        print(
            f"{rate:6.0f} req/s requested: sent {result['sent_rps']:7.1f}/s  answered {result['answered_rps']:7.1f}/s  "
            f"failed {result['failed']}  skipped {result['skipped']}  cpu {result['cpu_us_per_request']:6.1f} µs/req  "
            f"p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  close lag p95 {result['close_lag_p95_ms']} ms  "
            f"pods {result['pods']}",
            flush=True,
        )
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per rate instead of 5 s")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else 5.0
    started = time.monotonic()

    from tests.greet.conftest import start_fleet

    log_dir = Path(tempfile.mkdtemp(prefix="probe-bench-"))
    fleet = start_fleet(log_dir, [])
    try:
        print(f"3 greet servers, lookaside {fleet.lookaside}; logs in {log_dir}", flush=True)
        budget = WALL_LIMIT_S - (time.monotonic() - started)
        results = asyncio.run(asyncio.wait_for(run(fleet.lookaside, seconds), timeout=max(5.0, budget)))
    finally:
        fleet.stop()

    summary = {
        "path": "grpc lookaside watch",
        "seconds_per_rate": seconds,
        **{f"achieved_rps_{int(r['requested_rps'])}": r["answered_rps"] for r in results},
        **{f"cpu_us_per_request_{int(r['requested_rps'])}": r["cpu_us_per_request"] for r in results},
        "failed": sum(r["failed"] for r in results),
        "skipped": sum(r["skipped"] for r in results),
        "p99_ms_at_1000": results[-1]["p99_ms"],
        "close_lag_p95_ms": max(r["close_lag_p95_ms"] for r in results),
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
