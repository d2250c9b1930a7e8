# mypy: disable-error-code="untyped-decorator"
"""Thin views: read through selectors, act through services, answer htmx with partials."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.hub import cluster_choose, get_hub
from dashboard.roles import operator_required
from kube.clusters import Cluster
from rollouts import services
from rollouts.forms import ActionForm, DeleteRetiredForm, PlanForm, SwitchForm, WeightForm
from rollouts.models import RolloutAction
from rollouts.partials import card_context
from rollouts.routing import ROLLOUT_WS_PATH
from rollouts.selectors import Rollout, rollout_get, rollouts_get
from rollouts.services import Actor, Outcome
from rollouts.traffic import rollout_probe_start


def _cluster_name(request: HttpRequest) -> str:
    chosen = cluster_choose(request.GET.get("cluster") or request.POST.get("cluster") or "")
    if chosen is None:
        raise Http404("No cluster is configured: set SWITCHYARD_KUBECONFIG.")
    return chosen


def _load(request: HttpRequest, namespace: str, name: str) -> tuple[Rollout, Cluster]:
    cluster = _cluster_name(request)
    rollout = rollout_get(cluster=cluster, namespace=namespace, name=name)
    if rollout is None:
        raise Http404(f"{namespace}/{name} is not a rollout in {cluster}.")
    return rollout, get_hub().clusters[cluster]


@require_GET
def rollout_list(request: HttpRequest) -> HttpResponse:
    cluster = _cluster_name(request)
    view = rollouts_get(cluster=cluster, namespace=request.GET.get("namespace") or None)
    rows = [{"rollout": r, "waiting": r.waiting_for(**_waiting_args(r))} for r in view.rollouts]
    template = (
        "rollouts/partials/rollout-rows.html" if getattr(request, "htmx", False) else "rollouts/list.html"
    )
    return render(request, template, {"view": view, "rows": rows, "cluster": cluster})


def _waiting_args(rollout: Rollout) -> dict[str, Any]:
    step = services.scale_down_pending(rollout)
    plan = services.canary_plan(rollout)
    return {
        "scale_down_due_at": step.due_at.timestamp() if step else None,
        "plan_paused": plan.paused_reason if plan is not None and plan.paused else "",
    }


@require_GET
def rollout_detail(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    rollout, cluster = _load(request, namespace, name)
    context = card_context(rollout, actor=Actor.from_user(request.user), cluster=cluster)
    if getattr(request, "htmx", False):
        return render(request, "rollouts/partials/rollout-card.html", context | {"oob": False})
    ws_query = urlencode({"cluster": rollout.cluster, "namespace": namespace, "name": name})
    return render(
        request, "rollouts/detail.html", context | {"oob": False, "ws_url": f"{ROLLOUT_WS_PATH}?{ws_query}"}
    )


@require_GET
def rollout_traffic(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    rollout, cluster = _load(request, namespace, name)
    context = card_context(rollout, actor=Actor.from_user(request.user), cluster=cluster)
    return render(request, "rollouts/partials/traffic.html", context | {"oob": False})


@require_GET
def rollout_history(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    cluster = _cluster_name(request)
    rows = RolloutAction.objects.filter(cluster=cluster, namespace=namespace, rollout=name)[:500]
    return render(
        request,
        "rollouts/history.html",
        {"rows": rows, "namespace": namespace, "name": name, "cluster": cluster},
    )


@require_POST
@operator_required
def rollout_probe(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Start the rollout's traffic probe (lookaside watch), shared by every viewer."""
    rollout, _cluster = _load(request, namespace, name)
    rate = request.POST.get("rate") or "50"
    try:
        status = rollout_probe_start(rollout, rate=float(rate))
    except ValueError as exc:
        return _answer(request, rollout, Outcome("probe", RolloutAction.REFUSED, str(exc)))
    message = (
        f"Probe running at {status.rate:g} req/s through lookaside watch."
        if status is not None
        else "No lookaside balancer (Service lookaside-svc) found in this namespace or default."
    )
    result = RolloutAction.APPLIED if status is not None else RolloutAction.REFUSED
    return _answer(request, rollout, Outcome("probe", result, message))


ACTIONS = (
    "switch",
    "rollback",
    "set-weight",
    "promote",
    "abort",
    "pause",
    "resume",
    "plan",
    "delete-retired",
)


@require_POST
@operator_required
def rollout_action(request: HttpRequest, namespace: str, name: str, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404(f"no action {action!r}")
    form_class: type[ActionForm] = {
        "switch": SwitchForm,
        "set-weight": WeightForm,
        "plan": PlanForm,
        "delete-retired": DeleteRetiredForm,
    }.get(action, ActionForm)
    form = form_class(request.POST)
    rollout, cluster = _load(request, namespace, name)
    actor = Actor.from_user(request.user)
    if not form.is_valid():
        errors = "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items())
        return _answer(request, rollout, Outcome(action, RolloutAction.REFUSED, errors), status=400)
    data = form.cleaned_data
    if data["versions"] and data["versions"] != rollout.versions_token():
        # The page showed an older state than the cache holds: refuse, audited like any attempt.
        outcome = services._run(
            rollout,
            actor,
            action,
            lambda: (
                RolloutAction.CONFLICT,
                f"{rollout.key} {services.CHANGED}",
                services.rollout_state(rollout),
            ),
        )
        return _answer(request, rollout, outcome, status=409)
    kwargs: dict[str, Any] = {"rollout": rollout, "actor": actor, "cluster": cluster}
    if action == "switch":
        outcome = services.rollout_switch(
            **kwargs, to=data.get("to") or None, scale_up=bool(data.get("scale_up"))
        )
    elif action == "rollback":
        outcome = services.rollout_rollback(**kwargs)
    elif action == "set-weight":
        outcome = services.rollout_set_weight(**kwargs, weight=data["weight"])
    elif action == "promote":
        outcome = services.rollout_promote(**kwargs)
    elif action == "abort":
        outcome = services.rollout_abort(**kwargs)
    elif action == "pause":
        outcome = services.rollout_pause(**kwargs)
    elif action == "resume":
        outcome = services.rollout_resume(**kwargs)
    elif action == "delete-retired":
        outcome = services.rollout_delete_retired(**kwargs, deployment=data["deployment"])
    else:
        outcome = services.rollout_plan_start(
            **kwargs,
            steps=data["steps"],
            interval_s=data["interval_s"],
            max_error_rate=data["max_error_rate"],
        )
    status = {RolloutAction.CONFLICT: 409, RolloutAction.FORBIDDEN: 403}.get(outcome.result, 200)
    if outcome.result == RolloutAction.FORBIDDEN:
        return (
            HttpResponseForbidden(outcome.message)
            if not getattr(request, "htmx", False)
            else _answer(request, rollout, outcome, status=403)
        )
    return _answer(request, rollout, outcome, status=status)


def _answer(request: HttpRequest, rollout: Rollout, outcome: Outcome, status: int = 200) -> HttpResponse:
    if outcome.action == "delete-retired" and outcome.result == RolloutAction.APPLIED:
        # With one Deployment left the Service may no longer be a rollout: go to the list, flash there.
        messages.success(request, outcome.message)
        url = f"{reverse('rollout-list')}?{urlencode({'cluster': rollout.cluster})}"
        if getattr(request, "htmx", False):
            response = render(request, "rollouts/partials/outcome.html", {"outcome": outcome, "ok": True})
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    if getattr(request, "htmx", False):
        response = render(
            request,
            "rollouts/partials/outcome.html",
            {"outcome": outcome, "ok": outcome.ok},
            status=status,
        )
        # htmx swaps only 2xx by default; the flash of a refusal must show too.
        response["HX-Reswap"] = "innerHTML"
        return response
    (messages.success if outcome.ok else messages.error)(request, outcome.message)
    url = reverse("rollout-detail", args=[rollout.namespace, rollout.name])
    return redirect(f"{url}?{urlencode({'cluster': rollout.cluster})}")
