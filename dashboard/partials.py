"""Server-rendered pieces of the overview, shared by the page view and the websocket consumer."""

from __future__ import annotations

from django.template.loader import render_to_string

from dashboard.selectors import Overview

# Each partial's element id is its name; the consumer swaps them out-of-band.
OVERVIEW_PARTIALS = ("cluster-state", "deployments", "services", "pods")


def overview_live_render(*, overview: Overview, can_operate: bool, operate_refusal: str) -> str:
    """Every overview partial marked hx-swap-oob, for one websocket message."""
    context = {
        "overview": overview,
        "can_operate": can_operate,
        "operate_refusal": operate_refusal,
        "oob": True,
    }
    return "".join(render_to_string(f"dashboard/partials/{name}.html", context) for name in OVERVIEW_PARTIALS)
