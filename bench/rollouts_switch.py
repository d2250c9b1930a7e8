"""Blue/green switches and canary weight changes under probe traffic (lookaside watch, 200 req/s).

    python bench/rollouts_switch.py [--quick]     (≤ 60 s with --quick; starts and stops its own sandbox)

The probe counts answers in 100 ms buckets (by completion time).

- switch: seconds from just before the selector patch to the start of the first 100 ms bucket from which
  every later bucket has ≥ 99 % of its answers from the new colour (resolution 0.1 s). Alternating
  blue → green → blue ...; both colours stay at full size (the scale-down timer is not run).
- canary step: seconds from just before the scale calls to the end of the first trailing 1 s of answers
  in which the canary version's share is within ±5 points of the configured weight (canary replicas / N).
  Scaling up starts pods, so this includes pod start-up and readiness, not only the Endpoints path.

Last line JSON: switches, failed_requests, switch_p50_s, switch_p99_s, canary_steps, canary_step_p50_s,
canary_step_p99_s, definitions. Targets: 0 failed, switch p99 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")

SWITCH_BOUND_S = 10.0
CANARY_BOUND_S = 30.0
DEFINITIONS = {
    "switch_s": "patch → start of the first 100 ms bucket from which every later bucket is ≥ 99 % new colour",
    "canary_step_s": "scale calls → end of the first trailing 1 s with the canary share within ±5 points of the weight",
}


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (with 20 values, p99 is the largest)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, -(-round(q * 1000) * len(ordered) // 1000) - 1))], 3)


def failed_in(window: Any) -> int:
    return sum(b.failed for b in window.buckets())


def errors_in(window: Any) -> dict[str, int]:
    codes: dict[str, int] = {}
    for bucket in window.buckets():
        for code, n in bucket.errors.items():
            codes[code] = codes.get(code, 0) + n
    return codes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    switches_n = 8 if args.quick else 20
    weights = (50, 25, 75, 25) if args.quick else (50, 25, 75, 25, 50, 25)
    budget_s = 50.0 if args.quick else 240.0
    started = time.monotonic()

    from tests.sandbox.conftest import SandboxProcess

    state = Path(tempfile.mkdtemp(prefix="rollouts-bench-"))
    sandbox = SandboxProcess(
        state, extra_args=("--pod-cidr", "127.91.0.0/16", "--service-cidr", "127.92.0.0/16")
    )
    sandbox.start()
    os.environ["SWITCHYARD_KUBECONFIG"] = str(sandbox.kubeconfig)
    os.environ["SWITCHYARD_SQLITE_PATH"] = str(state / "bench.sqlite3")
    import django

    django.setup()
    from django.core.management import call_command

    from dashboard.hub import get_hub, reset_hub
    from rollouts import services
    from rollouts.selectors import Rollout, rollout_get
    from rollouts.services import Actor
    from rollouts.traffic import (
        rollout_probe_start,
        rollout_probe_stop,
        rollout_window,
        share_reached_seconds,
        switch_seconds,
        track_version,
        traffic_close,
    )

    call_command("migrate", verbosity=0)
    services.scheduler_enable(False)
    actor = Actor("bench", True, "cli")
    switch_s: list[float] = []
    canary_s: list[float] = []
    failed = 0
    problem = ""
    try:
        for path in (
            "deploy/greet/lookaside.yaml",
            "deploy/greet/rbac.yaml",
            "deploy/bluegreen",
            "deploy/canary",
        ):
            sandbox.kubectl("apply", "-f", str(REPO / path))
        cluster = get_hub().clusters[next(iter(get_hub().clusters))]

        def load(name: str, ok: Any = None, timeout: float = 60.0) -> Rollout:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                r = rollout_get(cluster=cluster.name, namespace="default", name=name, wait=5)
                if r is not None and r.ready and (ok is None or ok(r)):
                    return r
                time.sleep(0.05)
            raise TimeoutError(f"{name} not ready in {timeout:g}s")

        def probe(rollout: Rollout) -> Any:
            if rollout_probe_start(rollout, rate=args.rate) is None:
                raise RuntimeError("no lookaside-svc")
            window = rollout_window(rollout)
            assert window is not None
            deadline = time.monotonic() + 10
            while not window.share_since(time.time() - 1) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not window.share_since(time.time() - 1):
                raise RuntimeError("the probe got no answers through lookaside watch")
            return window

        # -- blue/green --------------------------------------------------------------------------
        bg = load("greet-bg")
        window = probe(bg)
        for i in range(switches_n):
            if time.monotonic() - started > budget_s * 0.55:
                break
            bg = load("greet-bg")
            target = bg.preview
            assert target is not None
            version = track_version(bg, target.value)
            t0 = time.time()
            outcome = services.rollout_switch(rollout=bg, actor=actor, cluster=cluster, to=target.value)
            if outcome.result != "applied":
                problem = outcome.message
                break
            # Moved, and confirmed by 0.5 s of buckets after that (bounded).
            took = None
            while time.time() - t0 < SWITCH_BOUND_S:
                time.sleep(0.1)
                took = switch_seconds(window, version, after=t0)
                if took is not None and time.time() - (t0 + took) >= 0.6:
                    break
            switch_s.append(round(took, 3) if took is not None else SWITCH_BOUND_S)
            load("greet-bg", lambda r, v=target.value: r.active is not None and r.active.value == v)
            print(f"switch {i + 1}: → {target.value} {switch_s[-1]:.2f}s", file=sys.stderr)
        failed_bg, errors_bg = failed_in(window), errors_in(window)
        rollout_probe_stop(bg)
        failed += failed_bg

        # -- canary ------------------------------------------------------------------------------
        cn = load("greet-canary")
        window = probe(cn)
        canary_version = track_version(cn, cn.canary.value)  # type: ignore[union-attr]
        for weight in weights:
            if time.monotonic() - started > budget_s:
                break
            cn = load("greet-canary")
            want, _stable = services.canary_split(cn.total_replicas, weight)
            t0 = time.time()
            outcome = services.rollout_set_weight(rollout=cn, actor=actor, cluster=cluster, weight=weight)
            if outcome.result != "applied":
                problem = outcome.message
                break
            took = None
            while took is None and time.time() - t0 < CANARY_BOUND_S:
                time.sleep(0.2)
                took = share_reached_seconds(
                    window, canary_version, after=t0, target=want / cn.total_replicas
                )
            canary_s.append(round(took, 3) if took is not None else CANARY_BOUND_S)
            load("greet-canary", lambda r, w=want: r.canary is not None and r.canary.ready == w)
            print(f"canary → {weight} % ({want}/{cn.total_replicas}): {canary_s[-1]:.2f}s", file=sys.stderr)
        failed_cn = failed_in(window)
        failed += failed_cn
        print(
            f"failed requests: blue/green {failed_bg} {errors_bg}, canary {failed_cn} {errors_in(window)}",
            file=sys.stderr,
        )
    except Exception as exc:  # the report says what went wrong; the JSON line still comes
        problem = problem or f"{type(exc).__name__}: {exc}"
    finally:
        traffic_close()
        reset_hub()
        sandbox.stop()
    result = {
        "switches": len(switch_s),
        "failed_requests": failed,
        "switch_p50_s": round(statistics.median(switch_s), 3) if switch_s else None,
        "switch_p99_s": pct(switch_s, 0.99),
        "canary_steps": len(canary_s),
        "canary_step_p50_s": round(statistics.median(canary_s), 3) if canary_s else None,
        "canary_step_p99_s": pct(canary_s, 0.99),
        "elapsed_s": round(time.monotonic() - started, 1),
        "definitions": DEFINITIONS,
        "problem": problem,
    }
    print(json.dumps(result))
    return 0 if switch_s and not problem else 1


if __name__ == "__main__":
    raise SystemExit(main())
