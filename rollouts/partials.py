"""Server-rendered pieces of the rollout pages, shared by the views and the websocket consumer."""

from __future__ import annotations

import time
from typing import Any

from django.template.loader import render_to_string

from rollouts.models import RolloutAction
from rollouts.selectors import Rollout
from rollouts.services import (
    WEIGHT_STEPS,
    Actor,
    canary_plan,
    rollout_permission,
    scale_down_pending,
    switch_pending,
)
from rollouts.traffic import observed_share


def switch_markers(rollout: Rollout, since_s: float = 300.0) -> list[dict[str, Any]]:
    """Applied selector switches in the last minutes: marks on the traffic series."""
    rows = RolloutAction.objects.filter(
        cluster=rollout.cluster,
        namespace=rollout.namespace,
        rollout=rollout.name,
        result=RolloutAction.APPLIED,
        action__in=("switch", "rollback", "set-weight", "promote", "abort"),
    )[:20]
    now = time.time()
    return [
        {
            "t": r.created_at.timestamp(),
            "action": r.action,
            "actor": r.actor,
            "ago": now - r.created_at.timestamp(),
        }
        for r in rows
        if now - r.created_at.timestamp() <= since_s
    ]


def card_context(rollout: Rollout, *, actor: Actor, cluster: Any) -> dict[str, Any]:
    refusal = rollout_permission(rollout=rollout, actor=actor, cluster=cluster) if cluster is not None else ""
    scale_down = scale_down_pending(rollout)
    pending_switch = switch_pending(rollout)
    plan = canary_plan(rollout)
    observed = observed_share(rollout)
    seconds_left = None
    if scale_down is not None:
        seconds_left = max(0, round(scale_down.due_at.timestamp() - time.time()))
    active, preview = rollout.active, rollout.preview
    return {
        "rollout": rollout,
        "can_act": not refusal,
        "act_refusal": refusal,
        "scale_down": scale_down,
        "scale_down_seconds": seconds_left,
        "pending_switch": pending_switch,
        "plan": plan,
        "observed": observed,
        "observed_rows": [
            {"track": t, "share": observed.shares.get(t.value), "configured": _configured(rollout, t.value)}
            for t in rollout.tracks
        ],
        "markers": switch_markers(rollout),
        "weight_steps": WEIGHT_STEPS,
        "waiting": rollout.waiting_for(
            scale_down_due_at=scale_down.due_at.timestamp() if scale_down else None,
            plan_paused=plan.paused_reason if plan is not None and plan.paused else "",
        ),
        "selector_diff": (
            f"{rollout.track_key}: {active.value if active else '-'} → {preview.value}" if preview else ""
        ),
        "versions": rollout.versions_token(),
    }


def _configured(rollout: Rollout, value: str) -> float | None:
    """The share the configuration gives a track: all or nothing for blue/green, the replica ratio for a canary."""
    if rollout.strategy == "blue-green":
        active = rollout.active
        return 1.0 if active is not None and active.value == value else 0.0
    total = rollout.total_replicas
    track = rollout.track(value)
    return track.desired / total if track is not None and total else None


def rollout_card_render(rollout: Rollout, *, actor: Actor, cluster: Any, oob: bool = False) -> str:
    context = card_context(rollout, actor=actor, cluster=cluster) | {"oob": oob}
    html: str = render_to_string("rollouts/partials/rollout-card.html", context)
    return html
