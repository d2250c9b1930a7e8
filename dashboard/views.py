from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dashboard import services
from dashboard.forms import ProbeKeyForm, ProbeRateForm, ProbeStartForm, ScaleForm
from dashboard.hub import get_hub
from dashboard.metrics import REGISTRY
from dashboard.roles import operator_required
from dashboard.routing import OVERVIEW_WS_PATH, TRAFFIC_WS_PATH
from dashboard.selectors import overview_get, probe_status_list, traffic_targets_get
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


def _traffic_url(key: str | None) -> str:
    base: str = reverse("traffic")
    return base + (f"?{urlencode({'probe': key})}" if key else "")


def _form_errors(form: forms.Form) -> str:
    return "; ".join(f"{f}: {' '.join(e)}" if f != "__all__" else " ".join(e) for f, e in form.errors.items())


@require_GET
def traffic(request: HttpRequest) -> HttpResponse:
    """Pick a target and watch its probe: the live view is filled by the traffic websocket."""
    overview = overview_get(cluster=request.GET.get("cluster"), namespace=request.GET.get("namespace"))
    # Targets live in one namespace: "all namespaces" falls back to the context's own.
    namespace = overview.namespace or (
        get_hub().clusters[overview.cluster].namespace if overview.cluster else ""
    )
    targets = traffic_targets_get(
        cluster=overview.cluster, namespace=namespace, dns_server=settings.SWITCHYARD_DNS_SERVER
    )
    probes = probe_status_list()
    key = request.GET.get("probe") or next((p.key for p in probes if p.running), None)
    key = key or (probes[0].key if probes else None)
    selected = next((p for p in probes if p.key == key), None)
    return render(
        request,
        "dashboard/traffic.html",
        {
            "overview": overview,
            "namespace": namespace,
            "targets": targets,
            "probes": probes,
            "selected": selected,
            "key": key or "",
            "ws_url": f"{TRAFFIC_WS_PATH}?{urlencode({'probe': key})}" if key else "",
        },
    )


def _traffic_answer(request: HttpRequest, message: str, ok: bool, key: str | None) -> HttpResponse:
    if getattr(request, "htmx", False):
        response = render(request, "dashboard/partials/flash.html", {"message": message, "ok": ok})
        if ok and key:
            response["HX-Redirect"] = _traffic_url(key)  # a new probe: show its live view
        return response
    (messages.success if ok else messages.error)(request, message)
    return redirect(_traffic_url(key))


@require_POST
@operator_required
def probe_start(request: HttpRequest) -> HttpResponse:
    form = ProbeStartForm(request.POST)
    if not form.is_valid():
        return _traffic_answer(request, _form_errors(form), False, None)
    try:
        status = services.probe_start(
            target=form.cleaned_data["target"], rate=form.cleaned_data["rate"], actor=request.user
        )
    except Exception as error:  # a target that cannot be reached says so; the page stays usable
        return _traffic_answer(request, f"Could not start the probe: {error}", False, None)
    return _traffic_answer(request, f"Probing {status.key} at {status.rate:g} req/s.", True, status.key)


@require_POST
@operator_required
def probe_rate(request: HttpRequest) -> HttpResponse:
    form = ProbeRateForm(request.POST)
    if not form.is_valid():
        return _traffic_answer(request, _form_errors(form), False, request.POST.get("key"))
    key = form.cleaned_data["key"]
    try:
        status = services.probe_rate_set(key=key, rate=form.cleaned_data["rate"], actor=request.user)
    except KeyError:
        return _traffic_answer(request, f"No probe {key}.", False, None)
    return _traffic_answer(request, f"Rate set to {status.rate:g} req/s.", True, None)


@require_POST
@operator_required
def probe_stop(request: HttpRequest) -> HttpResponse:
    form = ProbeKeyForm(request.POST)
    if not form.is_valid():
        return _traffic_answer(request, _form_errors(form), False, None)
    key = form.cleaned_data["key"]
    stopped = services.probe_stop(key=key, actor=request.user)
    return _traffic_answer(request, "Probe stopped." if stopped else f"No probe {key}.", stopped, None)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For probes: the process serves requests. Cluster reachability is shown in the UI, not here."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
