"""Blue/green switches and canary weight changes under probe traffic (lookaside watch, 200 req/s).

    python bench/rollouts_switch.py [--quick]     (≤ 60 s with --quick; starts and stops its own sandbox)

Per switch: the time from the selector patch to the first 1 s bucket with ≥ 99 % of answers from the new
colour (bucket resolution). Last line JSON: switches, failed_requests, switch_p50_s, switch_p99_s,
canary_step_p99_s. Targets: 0 failed, switch p99 ≤ 1 s.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    switches_n, _canary_steps = (6, 2) if args.quick else (20, 4)
    budget_s = 55.0 if args.quick else 240.0
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
    from rollouts.selectors import rollout_get
    from rollouts.services import Actor
    from rollouts.traffic import rollout_probe_start, rollout_window, traffic_close

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

        def load(name: str, ok: object = None, timeout: float = 60.0):  # type: ignore[no-untyped-def]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                r = rollout_get(cluster=cluster.name, namespace="default", name=name, wait=5)
                if r is not None and r.ready and (ok is None or ok(r)):  # type: ignore[operator]
                    return r
                time.sleep(0.1)
            raise TimeoutError(f"{name} not ready")

        bg = load("greet-bg")
        status = rollout_probe_start(bg, rate=args.rate)
        if status is None:
            raise RuntimeError("no lookaside-svc")
        window = rollout_window(bg)
        assert window is not None
        time.sleep(2.0)
        if not window.share_since(time.time() - 2):
            problem = "the probe got no answers through lookaside watch (does the sandbox publish Endpoints?)"
            raise RuntimeError(problem)
        base_failed = sum(b.failed for b in window.buckets())
        for i in range(switches_n):
            if time.monotonic() - started > budget_s:
                break
            bg = load("greet-bg")
            target = bg.preview
            assert target is not None
            t0 = time.time()
            outcome = services.rollout_switch(rollout=bg, actor=actor, cluster=cluster, to=target.value)
            if outcome.result != "applied":
                problem = outcome.message
                break
            found = None
            while found is None and time.time() - t0 < 10:
                time.sleep(0.2)
                found = window.first_second_with_share(target.value, at_least=0.99, after=t0, min_answers=10)
            # Bucket resolution: the bucket holding t0 may already be ≥ 99 % new; count to its end.
            switch_s.append(max(0.0, (found + window.bucket_s - t0)) if found is not None else 10.0)
            load("greet-bg", lambda r, v=target.value: r.active.value == v)  # type: ignore[misc]
            print(f"switch {i + 1}: → {target.value} {switch_s[-1]:.2f}s", file=sys.stderr)
        failed = sum(b.failed for b in window.buckets()) - base_failed
    except Exception as exc:  # the report says what went wrong; the JSON line still comes
        problem = problem or f"{type(exc).__name__}: {exc}"
    finally:
        traffic_close()
        reset_hub()
        sandbox.stop()
    result = {
        "switches": len(switch_s),
        "failed_requests": failed,
        "switch_p50_s": statistics.median(switch_s) if switch_s else None,
        "switch_p99_s": pct(switch_s, 0.99),
        "canary_step_p99_s": pct(canary_s, 0.99),
        "problem": problem,
    }
    print(json.dumps(result))
    return 0 if switch_s and not problem else 1


if __name__ == "__main__":
    raise SystemExit(main())
