"""Thin views: the quotas page, and the LimitRange editor's preview / apply / delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.roles import operator_required
from kube.errors import KubeError
from kube.types import LimitRangeInfo
from quotas import selectors, services
from quotas.forms import PRESETS, LimitRangeForm, initial_from_limitrange
from quotas.partials import quota_actions_recent, usage_html
from quotas.routing import QUOTAS_WS_PATH
from quotas.selectors import QuotaPage, quota_page_get


def _page_url(cluster: str, namespace: str) -> str:
    return f"{reverse('quotas:page')}?{urlencode({'cluster': cluster, 'namespace': namespace})}"


def _existing(page: QuotaPage, name: str) -> LimitRangeInfo | None:
    return next((lr for lr in page.limitranges if lr.ref.name == name), None)


def _editor_initial(request: HttpRequest, page: QuotaPage) -> dict[str, Any]:
    base = {"cluster": page.cluster, "namespace": page.namespace}
    existing = _existing(page, request.GET.get("edit", ""))
    if existing is not None:
        return base | initial_from_limitrange(existing, request.GET.get("type", "Container"))
    return base | PRESETS.get(request.GET.get("preset", ""), {"name": "limits-quota", "type": "Container"})


def _render(request: HttpRequest, page: QuotaPage, form: LimitRangeForm | None, **extra: Any) -> HttpResponse:
    ws_query = urlencode({"cluster": page.cluster, "namespace": page.namespace})
    context = {
        "page": page,
        "form": form,
        "presets": sorted(PRESETS),
        "actions": quota_actions_recent(cluster=page.cluster, namespace=page.namespace),
        "ws_url": f"{QUOTAS_WS_PATH}?{ws_query}",
        "usage_html": usage_html(page),
        "oob": False,
        **extra,
    }
    if getattr(request, "htmx", False) and request.method == "POST":
        return render(request, "quotas/partials/limitrange-editor.html", context)
    if getattr(request, "htmx", False) and not getattr(request.htmx, "boosted", False):
        return render(request, "quotas/partials/live.html", context)
    return render(request, "quotas/quotas.html", context)


@require_GET  # Django ships no types here
def quotas(request: HttpRequest) -> HttpResponse:
    page = quota_page_get(cluster=request.GET.get("cluster"), namespace=request.GET.get("namespace", ""))
    form = LimitRangeForm(initial=_editor_initial(request, page)) if page.namespace else None
    return _render(request, page, form)


def _bound(request: HttpRequest) -> tuple[QuotaPage, LimitRangeForm]:
    form = LimitRangeForm(request.POST)
    page = quota_page_get(cluster=request.POST.get("cluster"), namespace=request.POST.get("namespace", ""))
    return page, form


@require_POST  # Django ships no types here
def limitrange_preview(request: HttpRequest) -> HttpResponse:
    """Anyone may preview: nothing is sent to the cluster."""
    page, form = _bound(request)
    if not page.namespace or not form.is_valid():
        return _render(request, page, form)
    data = form.cleaned_data
    rows = selectors.limitrange_preview(
        cluster=page.cluster,
        namespace=page.namespace,
        name=data["name"],
        spec=form.spec(_existing(page, data["name"])),
        wait=0.0,
    )
    return _render(request, page, form, preview=rows)


@require_POST  # Django ships no types here
@operator_required
def limitrange_apply(request: HttpRequest) -> HttpResponse:
    page, form = _bound(request)
    if not page.namespace or not form.is_valid():
        return _render(request, page, form)  # field errors; nothing was sent
    data = form.cleaned_data
    try:
        applied = services.limitrange_apply(
            cluster=page.cluster,
            namespace=page.namespace,
            name=data["name"],
            spec=form.spec(_existing(page, data["name"])),
            actor=request.user,
        )
    except KubeError as exc:
        return _render(request, page, form, api_error=exc.message)
    done = f"Applied LimitRange {page.namespace}/{applied.ref.name}."
    if getattr(request, "htmx", False):
        return _render(request, page, form, done=done)
    messages.success(request, done)
    return redirect(_page_url(page.cluster, page.namespace))


@require_POST  # Django ships no types here
@operator_required
def limitrange_delete(request: HttpRequest) -> HttpResponse:
    cluster, namespace, name = (request.POST.get(k, "") for k in ("cluster", "namespace", "name"))
    try:
        services.limitrange_delete(cluster=cluster, namespace=namespace, name=name, actor=request.user)
    except KubeError as exc:
        message, ok = exc.message, False
    else:
        message, ok = f"Deleted LimitRange {namespace}/{name}.", True
    if getattr(request, "htmx", False):
        return render(request, "dashboard/partials/flash.html", {"message": message, "ok": ok})
    (messages.success if ok else messages.error)(request, message)
    return redirect(_page_url(cluster, namespace))
