from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dashboard import services
from dashboard.forms import ScaleForm
from dashboard.metrics import REGISTRY
from dashboard.roles import operator_required
from dashboard.routing import OVERVIEW_WS_PATH
from dashboard.selectors import overview_get
from kube.errors import KubeError


def _overview_url(cluster: str, namespace: str | None) -> str:
    query = {"cluster": cluster} | ({} if namespace is None else {"namespace": namespace})
    return f"{reverse('overview')}?{urlencode(query)}"


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    overview = overview_get(cluster=request.GET.get("cluster"), namespace=request.GET.get("namespace"))
    ws_query = urlencode({"cluster": overview.cluster, "namespace": overview.namespace})
    return render(
        request,
        "dashboard/overview.html",
        {"overview": overview, "ws_url": f"{OVERVIEW_WS_PATH}?{ws_query}", "oob": False},
    )


@require_POST
@operator_required
def deployment_scale(request: HttpRequest) -> HttpResponse:
    form = ScaleForm(request.POST)
    if not form.is_valid():
        message, ok = "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items()), False
    else:
        data = form.cleaned_data
        try:
            replicas = services.deployment_scale(
                cluster=data["cluster"],
                namespace=data["namespace"],
                name=data["name"],
                replicas=data["replicas"],
                actor=request.user,  # operator_required: signed in
            )
        except KubeError as exc:
            message, ok = exc.message, False
        else:
            message, ok = (
                f"Scaled deployment {data['namespace']}/{data['name']} to {replicas} replicas.",
                True,
            )
    if getattr(request, "htmx", False):
        return render(request, "dashboard/partials/flash.html", {"message": message, "ok": ok})
    (messages.success if ok else messages.error)(request, message)
    return redirect(_overview_url(request.POST.get("cluster", ""), request.POST.get("namespace")))


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For probes: the process serves requests. Cluster reachability is shown in the UI, not here."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
