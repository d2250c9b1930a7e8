"""Writes: switch, rollback, scale-down, set-weight, promote, abort, pause, resume, canary plans, and
deleting the retired Deployment once nothing can come back to it.

Every function takes the rollout *as the actor loaded it* and acts on that: when the cluster has moved
on since (a Service resourceVersion, a Deployment generation), Kubernetes' precondition refuses and the
actor hears "changed since you loaded it". Each attempt, whatever its result, is audited in the same
transaction as the decision; browsers hear of it after commit. Functions return an `Outcome` rather
than raise for refusals, so the web and the CLI report them the same way.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from dashboard.roles import operate_refusal, user_can_operate
from kube.clusters import Cluster
from kube.errors import KubeError
from kube.events import event_create
from kube.fetching import access_allowed, deployment_get, service_get
from kube.patching import deployment_delete, deployment_scale, service_selector_patch
from quotas.headroom import Headroom
from quotas.services import quota_headroom
from rollouts.models import CanaryPlan, RolloutAction, ScheduledStep
from rollouts.selectors import BLUE_GREEN, CANARY, Rollout, Track

log = logging.getLogger("rollouts")

CHANGED = "changed since you loaded it: reload and try again."
WEIGHT_STEPS = (0, 10, 25, 50, 75, 100)
SWITCH_WAIT_S = 300.0  # how long a scheduled switch waits for its target to become Available
ACCESS_CACHE_S = 60.0


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, a CLI user, or Switchyard's own timers."""

    username: str
    can_operate: bool
    source: str = "web"  # web, cli, scheduler
    refusal: str = ""

    @classmethod
    def from_user(cls, user: Any, *, source: str = "web") -> Actor:
        return cls(
            username=str(user.get_username()) if user is not None and user.is_authenticated else "anonymous",
            can_operate=user_can_operate(user),
            source=source,
            refusal=operate_refusal(user),
        )


@dataclass(frozen=True)
class Outcome:
    action: str
    result: str  # RolloutAction.RESULTS
    message: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    audit_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.result in (RolloutAction.APPLIED, RolloutAction.NOOP, RolloutAction.SCHEDULED)


class _Stop(Exception):
    """A decision that ends the action without (further) change: the result and the words for it."""

    def __init__(self, result: str, message: str) -> None:
        super().__init__(message)
        self.result = result
        self.message = message


# -- the pieces every action shares ------------------------------------------------------------------


def rollout_state(rollout: Rollout) -> dict[str, Any]:
    """Before/after as audited: the selector and each track's replicas."""
    return {
        "selector": dict(rollout.service.selector),
        "replicas": {t.name: t.desired for t in rollout.tracks},
    }


_listeners: list[Callable[[str, str, str], None]] = []


def listener_add(callback: Callable[[str, str, str], None]) -> None:
    """Called after commit with (cluster, namespace, rollout) for every audited attempt (live pages)."""
    if callback not in _listeners:
        _listeners.append(callback)


def _notify(cluster: str, namespace: str, name: str) -> None:
    for callback in list(_listeners):
        try:
            callback(cluster, namespace, name)
        except Exception:
            log.exception("rollout listener failed")


def _audit(rollout: Rollout, actor: Actor, action: str, outcome: Outcome) -> Outcome:
    row = RolloutAction.objects.create(
        actor=actor.username,
        source=actor.source,
        cluster=rollout.cluster,
        namespace=rollout.namespace,
        rollout=rollout.name,
        action=action,
        before=outcome.before,
        after=outcome.after,
        result=outcome.result,
        message=outcome.message[:4000],
    )
    key = (rollout.cluster, rollout.namespace, rollout.name)
    transaction.on_commit(lambda: _notify(*key))
    return Outcome(action, outcome.result, outcome.message, outcome.before, outcome.after, row.pk)


def _run(
    rollout: Rollout, actor: Actor, action: str, decide: Callable[[], tuple[str, str, dict[str, Any]]]
) -> Outcome:
    """Decide and apply inside one transaction with the audit row; `decide` returns (result, message, after)."""
    before = rollout_state(rollout)
    with transaction.atomic():
        try:
            result, message, after = decide()
        except _Stop as stop:
            result, message, after = stop.result, stop.message, before
        except KubeError as exc:
            result = RolloutAction.CONFLICT if exc.conflict else RolloutAction.FAILED
            message = (
                f"{rollout.key} {CHANGED}" if exc.conflict else exc.message
            )  # Kubernetes' words, verbatim
            after = before
        outcome = _audit(rollout, actor, action, Outcome(action, result, message, before, after))
    log.info("%s %s %s: %s %s", actor.username, action, rollout.key, outcome.result, outcome.message)
    return outcome


_access_cache: dict[tuple[str, str, str, str, str], tuple[float, bool, str]] = {}
_access_lock = threading.Lock()


def _cluster_allows(cluster: Cluster, namespace: str, verb: str, resource: str, group: str, sub: str) -> str:
    """SelfSubjectAccessReview for the dashboard's identity (cached a minute); the refusal or ""."""
    key = (cluster.name, namespace, verb, resource, sub)
    now = time.monotonic()
    with _access_lock:
        cached = _access_cache.get(key)
    if cached is None or now - cached[0] > ACCESS_CACHE_S:
        try:
            allowed, reason = access_allowed(
                cluster, verb=verb, resource=resource, namespace=namespace, group=group, subresource=sub
            )
        except KubeError as exc:
            # A cluster that cannot answer the question still enforces RBAC on the write itself.
            log.info("SelfSubjectAccessReview unavailable on %s: %s", cluster.name, exc.message)
            allowed, reason = True, ""
        cached = (now, allowed, reason)
        with _access_lock:
            _access_cache[key] = cached
    if cached[1]:
        return ""
    what = f"{resource}/{sub}" if sub else resource
    return f"The dashboard's cluster identity may not {verb} {what} in {namespace}" + (
        f": {cached[2]}" if cached[2] else "."
    )


def rollout_permission(*, rollout: Rollout, actor: Actor, cluster: Cluster) -> str:
    """Why this actor may not change this rollout ("" when they may): role first, then cluster RBAC."""
    if not actor.can_operate:
        return actor.refusal or f"{actor.username} is not an operator."
    checks = [("update", "deployments", "apps", "scale")]
    if rollout.strategy == BLUE_GREEN:
        checks.insert(0, ("patch", "services", "", ""))
    for verb, resource, group, sub in checks:
        refusal = _cluster_allows(cluster, rollout.namespace, verb, resource, group, sub)
        if refusal:
            return refusal
    return ""


def _check_permission(rollout: Rollout, actor: Actor, cluster: Cluster) -> None:
    refusal = rollout_permission(rollout=rollout, actor=actor, cluster=cluster)
    if refusal:
        raise _Stop(RolloutAction.FORBIDDEN, refusal)


def _headroom(rollout: Rollout, cluster: Cluster, track: Track, extra: int) -> None:
    """Refuse before anything changes when `extra` more pods of `track` would not fit the quota."""
    if extra <= 0:
        return
    headroom = quota_headroom_for(cluster=cluster, namespace=rollout.namespace, track=track, replicas=extra)
    if not headroom.fits:
        raise _Stop(RolloutAction.REFUSED, f"Scaling {track.name} up by {extra}: {headroom.message}")


def quota_headroom_for(*, cluster: Cluster, namespace: str, track: Track, replicas: int) -> Headroom:
    """The quotas app's headroom for `replicas` more pods of this track's template."""
    return quota_headroom(
        cluster=cluster, namespace=namespace, pod_template=dict(track.template), replicas=replicas
    )


def _scale(cluster: Cluster, track: Track, replicas: int) -> int:
    """Scale through the scale subresource, refusing when the Deployment's spec changed since it was loaded
    (a newer generation); status-only updates (new resourceVersion, same generation) are retried."""
    loaded = track.deployment
    rv: str | None = loaded.ref.resource_version
    for _ in range(5):
        try:
            return deployment_scale(
                cluster, namespace=loaded.namespace, name=loaded.name, replicas=replicas, resource_version=rv
            )
        except KubeError as exc:
            if not exc.conflict:
                raise
            current = deployment_get(cluster, namespace=loaded.namespace, name=loaded.name)
            if current.generation != loaded.generation or current.desired != loaded.desired:
                raise
            rv = current.ref.resource_version
    raise KubeError(409, "Conflict", f"deployment {loaded.name} kept changing")


def _patch_selector(cluster: Cluster, rollout: Rollout, value: str) -> None:
    """Patch only the track key, with the loaded resourceVersion as precondition (retried only when the
    Service moved on without its selector changing)."""
    rv = rollout.service.ref.resource_version
    for _ in range(5):
        try:
            service_selector_patch(
                cluster,
                namespace=rollout.namespace,
                name=rollout.name,
                selector={rollout.track_key: value},
                resource_version=rv,
            )
            return
        except KubeError as exc:
            if not exc.conflict:
                raise
            current = service_get(cluster, namespace=rollout.namespace, name=rollout.name)
            if current.selector != rollout.service.selector:
                raise
            rv = current.ref.resource_version
    raise KubeError(409, "Conflict", f"service {rollout.name} kept changing")


def _event(cluster: Cluster, rollout: Rollout, reason: str, message: str) -> None:
    try:
        event_create(cluster, involved=rollout.service.ref, kind="Service", reason=reason, message=message)
    except KubeError as exc:  # the change is made; a missing Event must not undo or hide it
        log.warning("could not record event %s on %s: %s", reason, rollout.key, exc.message)


def _steps(rollout: Rollout, kind: str, deployment: str = "") -> Any:
    found = ScheduledStep.objects.filter(
        cluster=rollout.cluster,
        namespace=rollout.namespace,
        rollout=rollout.name,
        kind=kind,
        state=ScheduledStep.PENDING,
    )
    return found.filter(deployment=deployment) if deployment else found


def scale_down_pending(rollout: Rollout) -> ScheduledStep | None:
    """The pending scale-down of this rollout, if any (for the countdown)."""
    step: ScheduledStep | None = _steps(rollout, ScheduledStep.SCALE_DOWN).first()
    return step


def switch_pending(rollout: Rollout) -> ScheduledStep | None:
    step: ScheduledStep | None = _steps(rollout, ScheduledStep.SWITCH_WHEN_AVAILABLE).first()
    return step


def _require(rollout: Rollout, strategy: str) -> None:
    if rollout.strategy != strategy:
        raise _Stop(RolloutAction.REFUSED, f"{rollout.key} is a {rollout.strategy} rollout, not {strategy}.")


# -- blue/green --------------------------------------------------------------------------------------


def _switch_now(
    *, rollout: Rollout, actor: Actor, cluster: Cluster, target: Track, reason: str, verb: str
) -> tuple[str, str, dict[str, Any]]:
    old = rollout.active
    _patch_selector(cluster, rollout, target.value)
    after = rollout_state(rollout) | {"selector": rollout.selector_for(target.value)}
    # The colour we switch to must stay; the one we leave stays for the delay, then goes to 0.
    _steps(rollout, ScheduledStep.SCALE_DOWN, target.name).update(
        state=ScheduledStep.CANCELLED, message=f"{target.value} became active again"
    )
    _steps(rollout, ScheduledStep.SWITCH_WHEN_AVAILABLE).exclude(track=target.value).update(
        state=ScheduledStep.CANCELLED, message=f"switched to {target.value} instead"
    )
    delay = rollout.scale_down_delay_s
    if old is not None and old.desired > 0:
        _steps(rollout, ScheduledStep.SCALE_DOWN, old.name).update(state=ScheduledStep.CANCELLED)
        ScheduledStep.objects.create(
            cluster=rollout.cluster,
            namespace=rollout.namespace,
            rollout=rollout.name,
            kind=ScheduledStep.SCALE_DOWN,
            deployment=old.name,
            track=old.value,
            due_at=timezone.now() + timedelta(seconds=delay),
            actor=actor.username,
        )
    diff = f"{rollout.track_key}: {old.value if old else '-'} → {target.value}"
    message = f"{verb} {rollout.key} selector {diff}"
    if old is not None and old.desired > 0:
        message += f"; {old.name} scales to 0 in {delay:g}s"
    _event(cluster, rollout, reason, f"{message} (by {actor.username})")
    scheduler_ensure()
    return RolloutAction.APPLIED, message + ".", after


def rollout_switch(
    *, rollout: Rollout, actor: Actor, cluster: Cluster, to: str | None = None, scale_up: bool = False
) -> Outcome:
    """Point the Service's selector at `to` (default: the preview). Only when the target is fully
    Available; a target at 0 replicas is scaled up first when `scale_up` (quota permitting), and the
    switch then happens by itself once it is Available."""

    def decide() -> tuple[str, str, dict[str, Any]]:
        _require(rollout, BLUE_GREEN)
        target = rollout.track(to) if to else rollout.preview
        if target is None:
            raise _Stop(RolloutAction.REFUSED, f"{rollout.key} has no track {to!r}.")
        active = rollout.active
        if active is not None and active.value == target.value:
            return RolloutAction.NOOP, f"{target.value} is already active.", rollout_state(rollout)
        _check_permission(rollout, actor, cluster)
        if target.desired == 0:
            return _scale_up_then_switch(rollout, actor, cluster, target, scale_up, "switch")
        if not target.fully_available:
            raise _Stop(
                RolloutAction.REFUSED,
                f"{target.name} is not fully Available ({target.ready}/{target.desired} ready): "
                "switch when every replica is ready.",
            )
        return _switch_now(
            rollout=rollout,
            actor=actor,
            cluster=cluster,
            target=target,
            reason="SelectorSwitched",
            verb="Switched",
        )

    return _run(rollout, actor, "switch", decide)


def _scale_up_then_switch(
    rollout: Rollout, actor: Actor, cluster: Cluster, target: Track, scale_up: bool, action: str
) -> tuple[str, str, dict[str, Any]]:
    replicas = max(1, rollout.active.desired if rollout.active else 1)
    if not scale_up:
        raise _Stop(
            RolloutAction.REFUSED,
            f"{target.name} has 0 replicas: scale it up to {replicas} first (the switch follows when it is Available).",
        )
    _headroom(rollout, cluster, target, replicas)
    _scale(cluster, target, replicas)
    _steps(rollout, ScheduledStep.SCALE_DOWN, target.name).update(state=ScheduledStep.CANCELLED)
    _steps(rollout, ScheduledStep.SWITCH_WHEN_AVAILABLE).update(state=ScheduledStep.CANCELLED)
    now = timezone.now()
    ScheduledStep.objects.create(
        cluster=rollout.cluster,
        namespace=rollout.namespace,
        rollout=rollout.name,
        kind=ScheduledStep.SWITCH_WHEN_AVAILABLE,
        deployment=target.name,
        track=target.value,
        due_at=now,
        deadline_at=now + timedelta(seconds=SWITCH_WAIT_S),
        actor=actor.username,
        message=action,
    )
    scheduler_ensure()
    after = rollout_state(rollout)
    after["replicas"][target.name] = replicas
    return (
        RolloutAction.SCHEDULED,
        f"Scaled {target.name} to {replicas}; the selector switches to {target.value} when it is Available.",
        after,
    )


def _previous_value(rollout: Rollout) -> str | None:
    """The track the last applied switch or rollback moved away from."""
    last = (
        RolloutAction.objects.filter(
            cluster=rollout.cluster,
            namespace=rollout.namespace,
            rollout=rollout.name,
            action__in=("switch", "rollback"),
            result=RolloutAction.APPLIED,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None:
        return None
    value = (last.before.get("selector") or {}).get(rollout.track_key)
    return str(value) if value is not None else None


def rollout_rollback(*, rollout: Rollout, actor: Actor, cluster: Cluster) -> Outcome:
    """Blue/green: back to the previous colour: instant while it still runs (the scale-down delay), else
    scale it up and switch when it is Available. Canary: abort."""
    if rollout.strategy == CANARY:
        return rollout_abort(rollout=rollout, actor=actor, cluster=cluster, action="rollback")

    def decide() -> tuple[str, str, dict[str, Any]]:
        previous_value = _previous_value(rollout)
        target = rollout.track(previous_value) if previous_value else rollout.preview
        active = rollout.active
        if target is None or (active is not None and target.value == active.value):
            return RolloutAction.NOOP, "Nothing to roll back to: no earlier switch.", rollout_state(rollout)
        _check_permission(rollout, actor, cluster)
        if target.desired == 0:
            return _scale_up_then_switch(rollout, actor, cluster, target, True, "rollback")
        if not target.fully_available:
            raise _Stop(
                RolloutAction.REFUSED,
                f"{target.name} is not fully Available ({target.ready}/{target.desired} ready).",
            )
        return _switch_now(
            rollout=rollout,
            actor=actor,
            cluster=cluster,
            target=target,
            reason="RolledBack",
            verb="Rolled back",
        )

    return _run(rollout, actor, "rollback", decide)


def rollout_scale_down(*, rollout: Rollout, step: ScheduledStep, cluster: Cluster) -> Outcome:
    """The delay is over: scale the old colour to 0 (never delete it, so it can come back)."""
    actor = Actor("switchyard", True, "scheduler")

    def decide() -> tuple[str, str, dict[str, Any]]:
        track = rollout.track_by_deployment(step.deployment)
        step.state = ScheduledStep.DONE
        if track is None:
            step.state, step.message = ScheduledStep.CANCELLED, "deployment no longer part of the rollout"
            step.save()
            raise _Stop(RolloutAction.NOOP, f"{step.deployment} is no longer part of {rollout.key}.")
        if rollout.active is not None and rollout.active.name == track.name:
            step.state, step.message = ScheduledStep.CANCELLED, "it is active again"
            step.save()
            raise _Stop(RolloutAction.NOOP, f"{track.name} is active again: not scaled down.")
        if track.desired == 0:
            step.save()
            return RolloutAction.NOOP, f"{track.name} is already at 0.", rollout_state(rollout)
        _scale(cluster, track, 0)  # a conflict leaves the step pending: the next tick tries again
        step.save()
        after = rollout_state(rollout)
        after["replicas"][track.name] = 0
        message = (
            f"Scaled {track.name} to 0 after the {rollout.scale_down_delay_s:g}s scale-down delay "
            f"(switch by {step.actor})"
        )
        _event(cluster, rollout, "ScaledDown", message)
        return RolloutAction.APPLIED, message + ".", after

    return _run(rollout, actor, "scale-down", decide)


# -- canary ------------------------------------------------------------------------------------------


def canary_split(total: int, weight: float) -> tuple[int, int]:
    """(canary, stable) replicas for `weight` percent of `total`: canary = round(N * w), half up."""
    canary = min(total, max(0, math.floor(total * weight / 100 + 0.5)))
    return canary, total - canary


def rollout_set_weight(
    *,
    rollout: Rollout,
    actor: Actor,
    cluster: Cluster,
    weight: float,
    action: str = "set-weight",
    reason: str = "CanaryWeightSet",
) -> Outcome:
    """Scale canary = round(N * w) and stable = N - canary through the scale subresource (canary first,
    always, so two concurrent changes meet on the same object and one of them is refused)."""

    def decide() -> tuple[str, str, dict[str, Any]]:
        _require(rollout, CANARY)
        if not 0 <= weight <= 100 or not math.isfinite(weight):
            raise _Stop(RolloutAction.REFUSED, f"weight must be 0-100 %, not {weight!r}.")
        stable, canary, total = rollout.stable, rollout.canary, rollout.total_replicas
        if stable is None or canary is None:
            raise _Stop(RolloutAction.REFUSED, f"{rollout.key} needs a stable and a canary Deployment.")
        if total == 0:
            raise _Stop(RolloutAction.REFUSED, f"{rollout.key} has 0 replicas in all: nothing to split.")
        want_canary, want_stable = canary_split(total, weight)
        words = f"canary {want_canary}, stable {want_stable} of {total}"
        if (canary.desired, stable.desired) == (want_canary, want_stable):
            return RolloutAction.NOOP, f"Already at {words}.", rollout_state(rollout)
        _check_permission(rollout, actor, cluster)
        _headroom(rollout, cluster, canary, want_canary - canary.desired)
        _headroom(rollout, cluster, stable, want_stable - stable.desired)
        _scale(cluster, canary, want_canary)
        _scale(cluster, stable, want_stable)
        after = rollout_state(rollout)
        after["replicas"] |= {canary.name: want_canary, stable.name: want_stable}
        verbs = {"promote": "Promoted", "abort": "Aborted", "rollback": "Rolled back"}
        head = verbs.get(action, f"Set canary weight {weight:g} %")
        message = f"{head} {rollout.key}: {words}"
        _event(cluster, rollout, reason, f"{message} (by {actor.username})")
        return RolloutAction.APPLIED, message + ".", after

    outcome = _run(rollout, actor, action, decide)
    if outcome.result == RolloutAction.APPLIED and action in ("promote", "abort", "rollback"):
        CanaryPlan.objects.filter(
            cluster=rollout.cluster, namespace=rollout.namespace, rollout=rollout.name
        ).update(active=False, next_at=None)
    return outcome


def rollout_promote(*, rollout: Rollout, actor: Actor, cluster: Cluster) -> Outcome:
    """Canary to N, stable to 0 (kept at 0 for undo, not deleted)."""
    return rollout_set_weight(
        rollout=rollout, actor=actor, cluster=cluster, weight=100, action="promote", reason="Promoted"
    )


def rollout_abort(*, rollout: Rollout, actor: Actor, cluster: Cluster, action: str = "abort") -> Outcome:
    """Canary to 0, stable to N."""
    reason = "RolledBack" if action == "rollback" else "Aborted"
    return rollout_set_weight(
        rollout=rollout, actor=actor, cluster=cluster, weight=0, action=action, reason=reason
    )


# -- deleting the retired Deployment -----------------------------------------------------------------


def retired_delete_refusal(rollout: Rollout, deployment: str) -> str:
    """Why `deployment` is not the rollout's retired Deployment, safe to delete now ("" when it is):
    a canary's stable after promote (stable at 0, canary Available at N), or a blue/green colour that is
    not active, at 0 after its scale-down delay, with the active colour Available."""
    track = rollout.track_by_deployment(deployment)
    if track is None:
        return f"{deployment} is not a Deployment of {rollout.key}."
    if rollout.strategy == CANARY:
        stable, canary = rollout.stable, rollout.canary
        if stable is None or canary is None or track.name != stable.name:
            return f"Only the stable Deployment is deleted after promote; {deployment} is the canary."
        if stable.desired > 0 or stable.ready > 0:
            return (
                f"{deployment} still has replicas ({stable.ready}/{stable.desired}): promote first "
                "(canary to all replicas, stable to 0)."
            )
        if not canary.fully_available:
            return (
                f"{canary.name} is not fully Available ({canary.ready}/{canary.desired}): "
                f"{deployment} is what abort would come back to."
            )
        plan = _plan(rollout)
        if plan is not None and plan.active:
            return f"A canary plan is still running for {rollout.key}: its next steps need {deployment}."
        return ""
    active = rollout.active
    if active is None or not active.fully_available:
        return f"The active colour of {rollout.key} is not fully Available: {deployment} may be needed back."
    if track.name == active.name:
        return f"{deployment} is active: the Service's selector points at it."
    if _steps(rollout, ScheduledStep.SCALE_DOWN, deployment).exists():
        return f"{deployment} is in its scale-down delay: rollback to it is still instant."
    if _steps(rollout, ScheduledStep.SWITCH_WHEN_AVAILABLE).filter(track=track.value).exists():
        return f"A switch to {track.value} is waiting for {deployment} to be Available."
    if track.desired > 0 or track.ready > 0:
        return f"{deployment} still has replicas ({track.ready}/{track.desired}): it is not retired."
    return ""


def rollout_delete_retired(*, rollout: Rollout, actor: Actor, cluster: Cluster, deployment: str) -> Outcome:
    """Delete the retired Deployment (the seed's last step), with its ReplicaSets and pods: only the one
    `retired_delete_refusal` allows, only if it is still the object the actor loaded (uid and
    resourceVersion as preconditions). Undo through it is no longer possible afterwards."""

    def decide() -> tuple[str, str, dict[str, Any]]:
        _check_permission(rollout, actor, cluster)
        refusal = _cluster_allows(cluster, rollout.namespace, "delete", "deployments", "apps", "")
        if refusal:
            raise _Stop(RolloutAction.FORBIDDEN, refusal)
        reason = retired_delete_refusal(rollout, deployment)
        if reason:
            raise _Stop(RolloutAction.REFUSED, reason)
        track = rollout.track_by_deployment(deployment)
        assert track is not None  # retired_delete_refusal said so
        ref = track.deployment.ref
        try:
            deployment_delete(
                cluster,
                namespace=rollout.namespace,
                name=deployment,
                resource_version=ref.resource_version,
                uid=ref.uid,
            )
        except KubeError as exc:
            if not exc.not_found:
                raise  # a 409 (another uid or resourceVersion) is "changed since you loaded it"
            raise _Stop(RolloutAction.NOOP, f"{deployment} is already deleted.") from exc
        _steps(rollout, ScheduledStep.SCALE_DOWN, deployment).update(
            state=ScheduledStep.CANCELLED, message="deployment deleted"
        )
        after = rollout_state(rollout)
        after["replicas"].pop(deployment, None)
        message = (
            f"Deleted {deployment} from {rollout.key} with its ReplicaSets and pods; "
            "undo through it is no longer possible"
        )
        _event(cluster, rollout, "DeploymentDeleted", f"{message} (by {actor.username})")
        return RolloutAction.APPLIED, message + ".", after

    return _run(rollout, actor, "delete-retired", decide)


def _plan(rollout: Rollout) -> CanaryPlan | None:
    plan: CanaryPlan | None = CanaryPlan.objects.filter(
        cluster=rollout.cluster, namespace=rollout.namespace, rollout=rollout.name
    ).first()
    return plan


def canary_plan(rollout: Rollout) -> CanaryPlan | None:
    return _plan(rollout)


def rollout_plan_start(
    *,
    rollout: Rollout,
    actor: Actor,
    cluster: Cluster,
    steps: list[int],
    interval_s: float = 60.0,
    max_error_rate: float = 0.05,
) -> Outcome:
    """Apply the first step now and advance through the rest every `interval_s`, unless paused."""

    def decide() -> tuple[str, str, dict[str, Any]]:
        _require(rollout, CANARY)
        if not steps or any(not 0 <= s <= 100 for s in steps) or interval_s <= 0:
            raise _Stop(RolloutAction.REFUSED, "a plan needs steps of 0-100 % and a positive interval.")
        _check_permission(rollout, actor, cluster)
        CanaryPlan.objects.update_or_create(
            cluster=rollout.cluster,
            namespace=rollout.namespace,
            rollout=rollout.name,
            defaults={
                "steps": list(steps),
                "index": -1,
                "interval_s": interval_s,
                "max_error_rate": max_error_rate,
                "next_at": timezone.now(),
                "paused": False,
                "paused_reason": "",
                "active": True,
                "actor": actor.username,
            },
        )
        scheduler_ensure()
        plan_words = " → ".join(f"{s} %" for s in steps)
        return (
            RolloutAction.SCHEDULED,
            f"Plan {plan_words}, every {interval_s:g}s; pauses when the error rate passes {max_error_rate:.1%}.",
            rollout_state(rollout),
        )

    return _run(rollout, actor, "plan", decide)


def rollout_pause(*, rollout: Rollout, actor: Actor, cluster: Cluster, reason: str = "") -> Outcome:
    """Hold the current step: the plan stops advancing until resumed."""

    def decide() -> tuple[str, str, dict[str, Any]]:
        _require(rollout, CANARY)
        plan = _plan(rollout)
        if plan is not None and plan.active and plan.paused:
            return RolloutAction.NOOP, f"Already paused: {plan.paused_reason}", rollout_state(rollout)
        _check_permission(rollout, actor, cluster)
        why = reason or f"paused by {actor.username}"
        CanaryPlan.objects.update_or_create(
            cluster=rollout.cluster,
            namespace=rollout.namespace,
            rollout=rollout.name,
            defaults={"paused": True, "paused_reason": why, "actor": actor.username},
        )
        return (
            RolloutAction.APPLIED,
            f"Paused {rollout.key} at weight {rollout.weight} %: {why}.",
            rollout_state(rollout),
        )

    return _run(rollout, actor, "pause", decide)


def rollout_resume(*, rollout: Rollout, actor: Actor, cluster: Cluster) -> Outcome:
    def decide() -> tuple[str, str, dict[str, Any]]:
        _require(rollout, CANARY)
        plan = _plan(rollout)
        if plan is None or not plan.paused:
            return RolloutAction.NOOP, "Not paused.", rollout_state(rollout)
        _check_permission(rollout, actor, cluster)
        plan.paused, plan.paused_reason = False, ""
        plan.next_at = timezone.now() + timedelta(seconds=plan.interval_s)
        plan.save()
        scheduler_ensure()
        more = (
            f"; next step in {plan.interval_s:g}s" if plan.active and plan.index + 1 < len(plan.steps) else ""
        )
        return RolloutAction.APPLIED, f"Resumed {rollout.key}{more}.", rollout_state(rollout)

    return _run(rollout, actor, "resume", decide)


def gate_error_rate(window: Any, *, since: float) -> tuple[float | None, int]:
    """The probe's error rate over the buckets from `since` on: (rate or None without requests, requests).
    A failed request names no pod, so while a canary takes traffic its errors are the rollout's new errors."""
    failed = requests = 0
    for bucket in window.buckets(after=since, include_open=False):
        failed += bucket.failed
        requests += bucket.requests
    return (failed / requests if requests else None), requests


def plan_advance(
    *, rollout: Rollout, plan: CanaryPlan, cluster: Cluster, window: Any = None
) -> Outcome | None:
    """One timer tick of a due plan: pause on a failing gate, else apply the next step."""
    actor = Actor(plan.actor, True, "scheduler")
    if window is not None and plan.index >= 0:
        since = time.time() - plan.interval_s
        rate, requests = gate_error_rate(window, since=since)
        if rate is not None and rate > plan.max_error_rate:
            reason = (
                f"error rate {rate:.1%} over the last {plan.interval_s:g}s ({requests} requests) "
                f"exceeds {plan.max_error_rate:.1%}"
            )
            return rollout_pause(
                rollout=rollout,
                actor=Actor("switchyard (analysis)", True, "scheduler"),
                cluster=cluster,
                reason=reason,
            )
    index = plan.index + 1
    if index >= len(plan.steps):
        plan.active, plan.next_at = False, None
        plan.save()
        return None
    outcome = rollout_set_weight(rollout=rollout, actor=actor, cluster=cluster, weight=plan.steps[index])
    plan.refresh_from_db()
    if outcome.ok:
        plan.index = index
        last = index + 1 >= len(plan.steps)
        plan.active = not last
        plan.next_at = None if last else timezone.now() + timedelta(seconds=plan.interval_s)
    else:
        plan.paused, plan.paused_reason = True, outcome.message
    plan.save()
    return outcome


# -- the timers --------------------------------------------------------------------------------------


def _cluster(name: str) -> Cluster | None:
    from dashboard.hub import get_hub

    return get_hub().clusters.get(name)


def probe_window(rollout: Rollout) -> Any:
    """The rollout's running probe's window (the gate's evidence), or None when no probe runs."""
    from rollouts.traffic import rollout_window

    return rollout_window(rollout)


def scheduled_run_due(*, now: datetime | None = None, windows: Callable[[Rollout], Any] | None = None) -> int:
    """Do every due step and plan tick; the number done. Called by the scheduler thread and the CLI.
    A plan's error-rate gate reads `windows(rollout)`: by default the rollout's running probe."""
    from rollouts.selectors import rollout_get

    now = now or timezone.now()
    windows = windows or probe_window
    done = 0
    for step in list(ScheduledStep.objects.filter(state=ScheduledStep.PENDING, due_at__lte=now)):
        cluster = _cluster(step.cluster)
        rollout = rollout_get(cluster=step.cluster, namespace=step.namespace, name=step.rollout, wait=3.0)
        if cluster is None or rollout is None:
            step.state, step.message = ScheduledStep.FAILED, "rollout not found"
            step.save()
            continue
        if step.kind == ScheduledStep.SCALE_DOWN:
            rollout_scale_down(rollout=rollout, step=step, cluster=cluster)
            done += 1
        elif step.kind == ScheduledStep.SWITCH_WHEN_AVAILABLE:
            done += _switch_when_available(rollout, step, cluster, now)
    for plan in list(CanaryPlan.objects.filter(active=True, paused=False, next_at__lte=now)):
        cluster = _cluster(plan.cluster)
        rollout = rollout_get(cluster=plan.cluster, namespace=plan.namespace, name=plan.rollout, wait=3.0)
        if cluster is None or rollout is None:
            continue
        plan_advance(rollout=rollout, plan=plan, cluster=cluster, window=windows(rollout))
        done += 1
    return done


def _switch_when_available(rollout: Rollout, step: ScheduledStep, cluster: Cluster, now: datetime) -> int:
    target = rollout.track(step.track)
    if target is not None and target.fully_available:
        step.state = ScheduledStep.DONE
        step.save()
        verb = "RolledBack" if step.message == "rollback" else "SelectorSwitched"
        actor = Actor(step.actor, True, "scheduler")

        def decide() -> tuple[str, str, dict[str, Any]]:
            return _switch_now(
                rollout=rollout, actor=actor, cluster=cluster, target=target, reason=verb, verb="Switched"
            )

        _run(rollout, actor, step.message or "switch", decide)
        return 1
    if step.deadline_at is not None and now > step.deadline_at:
        step.state = ScheduledStep.FAILED
        step.message = f"{step.deployment} did not become Available within {SWITCH_WAIT_S:g}s"
        step.save()
        actor = Actor(step.actor, True, "scheduler")
        _run(
            rollout,
            actor,
            "switch",
            lambda: (RolloutAction.FAILED, step.message + ".", rollout_state(rollout)),
        )
        return 1
    return 0


class _Scheduler:
    """One daemon thread per process that runs due steps twice a second (started on first need)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.windows: Callable[[Rollout], Any] | None = None

    def ensure(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rollouts-scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)
        self._thread = None

    def _run(self) -> None:
        from django.db import close_old_connections

        while not self._stop.wait(0.5):
            try:
                close_old_connections()
                scheduled_run_due(windows=self.windows)
            except Exception:
                log.exception("rollout scheduler tick failed")


SCHEDULER = _Scheduler()
_scheduler_enabled = True


def scheduler_enable(enabled: bool) -> None:
    """The CLI runs due steps itself (no thread outliving the command); tests may do the same."""
    global _scheduler_enabled
    _scheduler_enabled = enabled


def scheduler_ensure() -> None:
    if _scheduler_enabled:
        transaction.on_commit(SCHEDULER.ensure)
