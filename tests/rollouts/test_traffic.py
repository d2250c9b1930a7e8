"""Observed traffic: a switch and a rollback under steady probe traffic (lookaside watch, 200 req/s), and
a canary plan that advances on its timer and pauses itself when the canary's answers turn to errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from dashboard.probe.aggregation import TrafficWindow
from kube.clusters import Cluster
from kube.watching import WatchHub
from rollouts import services
from rollouts.models import CanaryPlan, RolloutAction
from rollouts.selectors import Rollout
from rollouts.services import Actor
from rollouts.traffic import (
    BUCKET_S,
    rollout_probe_start,
    rollout_window,
    switch_seconds,
    track_version,
    traffic_close,
)
from tests.kube.conftest import eventually
from tests.rollouts.conftest import wait_rollout
from tests.sandbox.conftest import SandboxProcess

OTTO = Actor("otto", True, "web")
pytestmark = pytest.mark.django_db
SETTLED_S = 0.5  # a move counts once this much later traffic confirms it


@pytest.fixture
def probes() -> Iterator[None]:
    try:
        yield
    finally:
        traffic_close()


def probing(rollout: Rollout, rate: float) -> TrafficWindow:
    assert rollout_probe_start(rollout, rate=rate) is not None, "no lookaside-svc found"
    window = rollout_window(rollout)
    assert window is not None and window.bucket_s == BUCKET_S
    assert eventually(lambda: window.share_since(time.time() - 0.5), timeout=10, interval=0.05)
    return window


def moved(window: TrafficWindow, version: str, t0: float) -> float | None:
    took = switch_seconds(window, version, after=t0)
    return took if took is not None and time.time() - (t0 + took) >= SETTLED_S else None


def test_switch_and_rollback_under_200_rps_fail_no_request_and_move_the_traffic(
    hub: WatchHub,
    rollout_cluster: Cluster,
    lookaside: str,
    bg_namespace: str,
    probes: None,
) -> None:
    ns, c = bg_namespace, rollout_cluster
    loaded = wait_rollout(
        c.name, ns, "greet-bg", lambda r: all(t.fully_available for t in r.tracks), timeout=90
    )
    window = probing(loaded, 200)
    blue, green = track_version(loaded, "blue"), track_version(loaded, "green")
    assert eventually(lambda: window.share_since(time.time() - 1).get(blue, 0) >= 0.99, timeout=5)

    t0 = time.time()
    assert services.rollout_switch(rollout=loaded, actor=OTTO, cluster=c, to="green").result == "applied"
    assert eventually(lambda: moved(window, green, t0), timeout=5, interval=0.05) is not None, (
        f"≥ 99 % green not reached within 5 s: {window.share_since(t0)}"
    )
    switched = wait_rollout(c.name, ns, "greet-bg", lambda r: r.active.value == "green")  # type: ignore[union-attr]

    t1 = time.time()
    back = services.rollout_rollback(rollout=switched, actor=OTTO, cluster=c)
    assert back.result == RolloutAction.APPLIED, back.message
    assert eventually(lambda: moved(window, blue, t1), timeout=5, interval=0.05) is not None, (
        f"≥ 99 % blue not reached within 5 s after the rollback: {window.share_since(t1)}"
    )
    buckets = window.buckets()
    requests = sum(b.requests for b in buckets)
    assert requests >= 200, requests  # the probe really ran at about 200 req/s for seconds
    assert sum(b.failed for b in buckets) == 0, {k: v for b in buckets for k, v in b.errors.items()}


def broken_canary(sandbox: SandboxProcess, ns: str) -> None:
    """The canary's pods become something that is not a greet server: the lookaside program on the greet
    port. Its gRPC health check passes (so the pods are Ready), and every Greet call is UNIMPLEMENTED."""
    args = ["lookaside", "--listen", "0.0.0.0:50051", "--source", "static", "--backends", "127.0.0.1:9"]
    patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": args}]
    sandbox.kubectl("patch", "deployment", "greet-canary", "-n", ns, "--type=json", "-p", json.dumps(patch))


def test_plan_advances_on_its_timer_and_pauses_itself_when_the_canary_fails(
    hub: WatchHub,
    rollout_cluster: Cluster,
    rollout_sandbox: SandboxProcess,
    lookaside: str,
    canary_namespace: str,
    probes: None,
) -> None:
    ns, c, name = canary_namespace, rollout_cluster, "greet-canary"
    loaded = wait_rollout(c.name, ns, name, lambda r: r.ready and r.weight == 25, timeout=90)
    window = probing(loaded, 100)
    started = services.rollout_plan_start(
        rollout=loaded, actor=OTTO, cluster=c, steps=[50, 75], interval_s=1.0, max_error_rate=0.05
    )
    assert started.result == RolloutAction.SCHEDULED, started.message

    # The first step is due at once: the timer applies it (the scheduler's own function, the real probe).
    assert services.scheduled_run_due() == 1
    plan = CanaryPlan.objects.get(namespace=ns)
    assert (plan.index, plan.paused, plan.active) == (0, False, True)
    wait_rollout(c.name, ns, name, lambda r: r.weight == 50 and r.ready, timeout=60)

    broken_canary(rollout_sandbox, ns)

    def canary_failing() -> bool:
        rate, requests = services.gate_error_rate(window, since=time.time() - 1.0)
        return rate is not None and rate > 0.2 and requests >= 50

    assert eventually(canary_failing, timeout=60, interval=0.2), "the broken canary never answered errors"

    def ticked() -> bool:
        return services.scheduled_run_due() > 0

    assert eventually(ticked, timeout=5, interval=0.1)  # the next tick is due within the 1 s interval
    plan.refresh_from_db()
    assert plan.paused and "error rate" in plan.paused_reason and "exceeds 5.0%" in plan.paused_reason
    assert plan.index == 0  # 75 % was never applied
    now = wait_rollout(c.name, ns, name, lambda r: True)
    assert now.weight == 50
    pause = RolloutAction.objects.filter(namespace=ns, action="pause").get()
    assert (pause.actor, pause.source, pause.result) == ("switchyard (analysis)", "scheduler", "applied")
    # Paused: later ticks do nothing until someone resumes.
    assert services.scheduled_run_due() == 0
    assert "Canary plan paused: error rate" in now.waiting_for(plan_paused=plan.paused_reason)
