"""Server-rendered pieces of the quotas page, shared by the page view and the websocket consumer."""

from __future__ import annotations

from django.template.loader import render_to_string

from quotas.models import QuotaAction
from quotas.selectors import QuotaPage

# Each partial's element id is its name; the consumer swaps them out-of-band. The editor form is not
# among them: a live update must never wipe what someone is typing.
QUOTA_PARTIALS = ("quota-summary", "quota-usage", "held-back", "limitranges", "quota-actions")


def quota_actions_recent(*, cluster: str, namespace: str, limit: int = 10) -> list[QuotaAction]:
    if not namespace:
        return []
    return list(QuotaAction.objects.filter(cluster=cluster, namespace=namespace)[:limit])


def quotas_live_render(
    *, page: QuotaPage, actions: list[QuotaAction], can_operate: bool, operate_refusal: str
) -> str:
    """Every live partial marked hx-swap-oob, for one websocket message."""
    context = {
        "page": page,
        "actions": actions,
        "can_operate": can_operate,
        "operate_refusal": operate_refusal,
        "oob": True,
    }
    return "".join(render_to_string(f"quotas/partials/{name}.html", context) for name in QUOTA_PARTIALS)
