"""Server-rendered pieces of the quotas page, shared by the page view and the websocket consumer."""

from __future__ import annotations

import threading

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from quotas.models import QuotaAction
from quotas.selectors import NamespaceUsage, QuotaPage

# Each partial's element id is its name; the consumer swaps them out-of-band. The editor form is not
# among them: a live update must never wipe what someone is typing.
QUOTA_PARTIALS = ("quota-summary", "quota-usage", "held-back", "limitranges", "quota-actions")


def quota_actions_recent(*, cluster: str, namespace: str, limit: int = 10) -> list[QuotaAction]:
    if not namespace:
        return []
    return list(QuotaAction.objects.filter(cluster=cluster, namespace=namespace)[:limit])


class NamespaceFragments:
    """Each namespace's rendered usage article, kept while the selectors hand back the same row object
    (they rebuild a row only when one of its quotas changed). A page of 100 namespaces x 2 quotas has
    ~600 bars; re-rendering them all per request or per push was most of the page's time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._html: dict[tuple[str, str, bool], tuple[NamespaceUsage, str]] = {}

    def render(self, *, cluster: str, row: NamespaceUsage, linked: bool) -> str:
        key = (cluster, row.namespace, linked)
        with self._lock:
            hit = self._html.get(key)
        if hit is not None and hit[0] is row:
            return hit[1]
        html = str(
            render_to_string(
                "quotas/partials/quota-namespace.html", {"ns": row, "cluster": cluster, "linked": linked}
            )
        )
        with self._lock:
            if len(self._html) > 4096:  # namespaces come and go; never grow without bound
                self._html.clear()
            self._html[key] = (row, html)
        return html


_fragments = NamespaceFragments()


def fragments_clear() -> None:
    """Forget every rendered namespace article (the bench's cold measurement)."""
    global _fragments
    _fragments = NamespaceFragments()


def usage_html(page: QuotaPage) -> SafeString:
    """The usage section's articles, fullest namespace first (each escaped by its own template)."""
    linked = not page.namespace  # on the all-namespaces page each namespace links to its own page
    # Concatenated template output: every value was escaped when its fragment was rendered.
    return mark_safe(
        "".join(_fragments.render(cluster=page.cluster, row=row, linked=linked) for row in page.usage)
    )


def quotas_live_render(
    *, page: QuotaPage, actions: list[QuotaAction], can_operate: bool, operate_refusal: str
) -> str:
    """Every live partial marked hx-swap-oob, for one websocket message."""
    context = {
        "page": page,
        "actions": actions,
        "can_operate": can_operate,
        "operate_refusal": operate_refusal,
        "usage_html": usage_html(page),
        "oob": True,
    }
    return "".join(render_to_string(f"quotas/partials/{name}.html", context) for name in QUOTA_PARTIALS)
