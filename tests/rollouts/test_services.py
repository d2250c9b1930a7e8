"""Every action and refusal against a real sandbox with the deploy/ blue/green and canary sets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kube.clusters import Cluster
from kube.watching import WatchHub
from rollouts import services
from rollouts.models import RolloutAction, ScheduledStep
from rollouts.services import Actor
from tests.rollouts.conftest import scale, wait_rollout
from tests.sandbox.conftest import SandboxProcess

OTTO = Actor("otto", True, "web")
VERA = Actor("vera", False, "web", "Your role is viewer.")
pytestmark = pytest.mark.django_db


def available(*names: str) -> Any:
    return lambda r: all((t := r.track_by_deployment(n)) is not None and t.fully_available for n in names)


def events(sandbox: SandboxProcess, ns: str) -> list[tuple[str, str]]:
    items = json.loads(sandbox.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    return [
        (e["reason"], e["message"]) for e in items if e.get("source", {}).get("component") == "switchyard"
    ]


def test_switch_applies_audits_records_an_event_and_the_second_from_the_same_load_conflicts(
    hub: WatchHub, rollout_cluster: Cluster, rollout_sandbox: SandboxProcess, bg_namespace: str
) -> None:
    ns = bg_namespace
    loaded = wait_rollout(rollout_cluster.name, ns, "greet-bg", available("greet-blue", "greet-green"))
    first = services.rollout_switch(rollout=loaded, actor=OTTO, cluster=rollout_cluster, to="green")
    second = services.rollout_switch(
        rollout=loaded, actor=Actor("olga", True), cluster=rollout_cluster, to="green"
    )
    assert first.result == RolloutAction.APPLIED, first.message
    assert second.result == RolloutAction.CONFLICT and "changed since you loaded it" in second.message
    selector = json.loads(rollout_sandbox.kubectl("get", "svc", "greet-bg", "-n", ns, "-o", "json").stdout)[
        "spec"
    ]["selector"]
    assert selector == {"name": "greet-bg", "app": "green"}
    rows = list(RolloutAction.objects.filter(namespace=ns).order_by("id"))
    assert [(r.actor, r.action, r.result) for r in rows] == [
        ("otto", "switch", "applied"),
        ("olga", "switch", "conflict"),
    ]
    assert rows[0].before["selector"]["app"] == "blue" and rows[0].after["selector"]["app"] == "green"
    assert rows[0].before["replicas"] == {"greet-blue": 3, "greet-green": 3}
    assert any(r == "SelectorSwitched" and "(by otto)" in m for r, m in events(rollout_sandbox, ns))
    # Idempotent: asked again from a fresh load, nothing changes.
    fresh = wait_rollout(
        rollout_cluster.name, ns, "greet-bg", lambda r: r.active is not None and r.active.value == "green"
    )
    again = services.rollout_switch(rollout=fresh, actor=OTTO, cluster=rollout_cluster, to="green")
    assert again.result == RolloutAction.NOOP
    # The old colour waits for the delay, then goes to 0 (not deleted); rollback after that scales it up.
    step = ScheduledStep.objects.get(namespace=ns, kind=ScheduledStep.SCALE_DOWN)
    assert step.deployment == "greet-blue" and 29 <= (step.due_at - step.created_at).total_seconds() <= 31
    ScheduledStep.objects.filter(pk=step.pk).update(due_at=step.created_at)  # the delay, elapsed
    assert services.scheduled_run_due() == 1
    gone = wait_rollout(rollout_cluster.name, ns, "greet-bg", lambda r: r.track("blue").desired == 0)  # type: ignore[union-attr]
    assert rollout_sandbox.kubectl("get", "deployment", "greet-blue", "-n", ns).returncode == 0
    back = services.rollout_rollback(rollout=gone, actor=OTTO, cluster=rollout_cluster)
    assert back.result == RolloutAction.SCHEDULED, back.message
    wait_rollout(rollout_cluster.name, ns, "greet-bg", available("greet-blue"))
    assert services.scheduled_run_due() == 1
    wait_rollout(
        rollout_cluster.name, ns, "greet-bg", lambda r: r.active is not None and r.active.value == "blue"
    )
    reasons = [r for r, _ in events(rollout_sandbox, ns)]
    assert {"SelectorSwitched", "ScaledDown", "RolledBack"} <= set(reasons)


def test_rollback_during_the_delay_is_instant(
    hub: WatchHub, rollout_cluster: Cluster, bg_namespace: str
) -> None:
    ns = bg_namespace
    loaded = wait_rollout(rollout_cluster.name, ns, "greet-bg", available("greet-blue", "greet-green"))
    assert services.rollout_switch(rollout=loaded, actor=OTTO, cluster=rollout_cluster).result == "applied"
    switched = wait_rollout(rollout_cluster.name, ns, "greet-bg", lambda r: r.active.value == "green")  # type: ignore[union-attr]
    back = services.rollout_rollback(rollout=switched, actor=OTTO, cluster=rollout_cluster)
    assert back.result == RolloutAction.APPLIED and "blue" in back.message
    pending = ScheduledStep.objects.filter(namespace=ns, state=ScheduledStep.PENDING)
    assert [(s.kind, s.deployment) for s in pending] == [(ScheduledStep.SCALE_DOWN, "greet-green")]


def test_switch_is_refused_while_the_target_is_not_available_or_at_zero_without_scale_up(
    hub: WatchHub, rollout_cluster: Cluster, rollout_sandbox: SandboxProcess, bg_namespace: str
) -> None:
    ns = bg_namespace
    wait_rollout(rollout_cluster.name, ns, "greet-bg", available("greet-blue", "greet-green"))
    scale(rollout_sandbox, ns, "greet-green", 0)
    at_zero = wait_rollout(rollout_cluster.name, ns, "greet-bg", lambda r: r.track("green").desired == 0)  # type: ignore[union-attr]
    refused = services.rollout_switch(rollout=at_zero, actor=OTTO, cluster=rollout_cluster)
    assert refused.result == RolloutAction.REFUSED and "0 replicas" in refused.message
    scheduled = services.rollout_switch(rollout=at_zero, actor=OTTO, cluster=rollout_cluster, scale_up=True)
    assert scheduled.result == RolloutAction.SCHEDULED
    starting = wait_rollout(rollout_cluster.name, ns, "greet-bg", lambda r: r.track("green").desired == 3)  # type: ignore[union-attr]
    if not starting.track("green").fully_available:  # type: ignore[union-attr]
        not_yet = services.rollout_switch(rollout=starting, actor=OTTO, cluster=rollout_cluster)
        assert not_yet.result == RolloutAction.REFUSED and "not fully Available" in not_yet.message
    assert (
        services.rollout_switch(rollout=at_zero, actor=VERA, cluster=rollout_cluster, scale_up=True).result
        == "forbidden"
    )


def test_quota_that_would_not_fit_refuses_before_anything_changes(
    hub: WatchHub, rollout_cluster: Cluster, rollout_sandbox: SandboxProcess, canary_namespace: str
) -> None:
    ns = canary_namespace
    wait_rollout(rollout_cluster.name, ns, "greet-canary", available("greet-stable", "greet-canary"))
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "tight", "namespace": ns},
        "spec": {"hard": {"requests.memory": "300Mi"}},  # 4 pods x 64Mi used; a 5th would need 320Mi
    }
    rollout_sandbox.kubectl("apply", "-f", "-", input=json.dumps(quota))
    scale(rollout_sandbox, ns, "greet-stable", 4)
    loaded = wait_rollout(
        rollout_cluster.name,
        ns,
        "greet-canary",
        lambda r: r.total_replicas == 5 and r.track("stable").ready >= 3,  # type: ignore[union-attr]
    )
    before = (loaded.stable.desired, loaded.canary.desired)  # type: ignore[union-attr]
    # 4 pods use 256Mi of 300Mi (a 5th stable is refused by the quota); promote needs 4 more canaries.
    outcome = services.rollout_promote(rollout=loaded, actor=OTTO, cluster=rollout_cluster)
    assert outcome.result == RolloutAction.REFUSED, outcome.message
    assert "do not fit" in outcome.message and "requests.memory" in outcome.message
    now = wait_rollout(rollout_cluster.name, ns, "greet-canary", lambda r: True)
    assert (now.stable.desired, now.canary.desired) == before  # type: ignore[union-attr]


def test_set_weight_promote_abort_pause_resume_and_conflict(
    hub: WatchHub, rollout_cluster: Cluster, rollout_sandbox: SandboxProcess, canary_namespace: str
) -> None:
    ns, name, c = canary_namespace, "greet-canary", rollout_cluster
    loaded = wait_rollout(c.name, ns, name, available("greet-stable", "greet-canary"))
    assert (loaded.weight, services.canary_split(4, 25), services.canary_split(4, 50)) == (25, (1, 3), (2, 2))
    half = services.rollout_set_weight(rollout=loaded, actor=OTTO, cluster=c, weight=50)
    raced = services.rollout_set_weight(rollout=loaded, actor=OTTO, cluster=c, weight=75)
    assert half.result == RolloutAction.APPLIED and raced.result == RolloutAction.CONFLICT, (half, raced)
    now = wait_rollout(c.name, ns, name, lambda r: r.weight == 50)
    assert services.rollout_set_weight(rollout=now, actor=OTTO, cluster=c, weight=50).result == "noop"
    assert services.rollout_set_weight(rollout=now, actor=OTTO, cluster=c, weight=120).result == "refused"
    assert services.rollout_set_weight(rollout=now, actor=VERA, cluster=c, weight=75).result == "forbidden"
    assert services.rollout_pause(rollout=now, actor=OTTO, cluster=c).result == "applied"
    assert services.rollout_pause(rollout=now, actor=OTTO, cluster=c).result == "noop"
    assert services.rollout_resume(rollout=now, actor=OTTO, cluster=c).result == "applied"
    promoted = services.rollout_promote(rollout=now, actor=OTTO, cluster=c)
    assert promoted.result == "applied" and promoted.after["replicas"] == {
        "greet-canary": 4,
        "greet-stable": 0,
    }
    after = wait_rollout(c.name, ns, name, lambda r: r.weight == 100)
    aborted = services.rollout_abort(rollout=after, actor=OTTO, cluster=c)
    assert aborted.after["replicas"] == {"greet-canary": 0, "greet-stable": 4}
    wait_rollout(c.name, ns, name, lambda r: r.weight == 0)
    reasons = [r for r, _ in events(rollout_sandbox, ns)]
    assert {"CanaryWeightSet", "Promoted", "Aborted"} <= set(reasons)
    actions = list(RolloutAction.objects.filter(namespace=ns).values_list("action", "result"))
    assert ("set-weight", "conflict") in actions and ("promote", "applied") in actions
