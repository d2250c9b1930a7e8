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
    retired_delete_refusal,
    rollout_permission,
    scale_down_pending,
    switch_pending,
)
from rollouts.traffic import CHART_S, CHART_STEP_S, ObservedShare, observed_share


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


TRACK_COLOURS = {"blue": "blue", "green": "green", "stable": "stable", "canary": "canary"}


def share_chart(rollout: Rollout, observed: ObservedShare, markers: list[dict[str, Any]]) -> dict[str, Any]:
    """The observed share per track as stacked CSS columns, actions marked where they happened."""
    order = [t.value for t in rollout.tracks]
    colour = {v: TRACK_COLOURS.get(v, f"c{i % 4}") for i, v in enumerate(order)}
    columns = []
    for col in observed.columns:
        left = (col.start - observed.chart_start) / CHART_S * 100
        segments = [
            {"track": v, "pct": round(col.shares.get(v, 0.0) * 100, 1), "colour": colour[v]}
            for v in order
            if col.shares.get(v)
        ]
        words = ", ".join(f"{s['track']} {s['pct']:g} %" for s in segments) or "no answers"
        if col.failed:
            words += f", {col.failed} failed"
        columns.append({"left": round(left, 2), "segments": segments, "title": words, "failed": col.failed})
    marks = [
        m | {"left": round((m["t"] - observed.chart_start) / CHART_S * 100, 2)}
        for m in markers
        if observed.chart_start <= m["t"] <= observed.chart_start + CHART_S
    ]
    now = observed.columns[-1] if observed.columns else None
    summary = (
        "Observed share of answers: "
        + (", ".join(f"{v} {share * 100:.0f} %" for v, share in now.shares.items()) if now else "none yet")
        + "".join(f"; {m['action']} by {m['actor']} {m['ago']:.0f} s ago" for m in marks)
    )
    return {
        "columns": columns,
        "marks": marks,
        "width_pct": round(CHART_STEP_S / CHART_S * 100, 3),
        "legend": [{"track": v, "colour": colour[v]} for v in order],
        "summary": summary,
        "seconds": CHART_S,
        "step": CHART_STEP_S,
    }


def card_context(rollout: Rollout, *, actor: Actor, cluster: Any) -> dict[str, Any]:
    refusal = rollout_permission(rollout=rollout, actor=actor, cluster=cluster) if cluster is not None else ""
    scale_down = scale_down_pending(rollout)
    pending_switch = switch_pending(rollout)
    plan = canary_plan(rollout)
    observed = observed_share(rollout)
    markers = switch_markers(rollout)
    seconds_left = None
    if scale_down is not None:
        seconds_left = max(0, round(scale_down.due_at.timestamp() - time.time()))
    active, preview = rollout.active, rollout.preview
    # The Deployment "delete" would remove: a canary's stable, or blue/green's inactive colour.
    retired = rollout.stable if rollout.strategy == "canary" else preview
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
        "markers": markers,
        "chart": share_chart(rollout, observed, markers),
        "weight_steps": WEIGHT_STEPS,
        "waiting": rollout.waiting_for(
            scale_down_due_at=scale_down.due_at.timestamp() if scale_down else None,
            plan_paused=plan.paused_reason if plan is not None and plan.paused else "",
        ),
        "selector_diff": (
            f"{rollout.track_key}: {active.value if active else '-'} → {preview.value}" if preview else ""
        ),
        "versions": rollout.versions_token(),
        "retired": retired,
        "retired_refusal": retired_delete_refusal(rollout, retired.name) if retired else "",
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


def rollout_tick_render(rollout: Rollout, *, actor: Actor, cluster: Any) -> str:
    """What moves without any watch event: the traffic section and the countdown, swapped out of band
    by id, so the rest of the card (an open confirmation, a typed weight) is left alone between changes."""
    context = card_context(rollout, actor=actor, cluster=cluster) | {"oob": True}
    html: str = render_to_string("rollouts/partials/traffic.html", context)
    html += render_to_string("rollouts/partials/countdown.html", context)
    return html
