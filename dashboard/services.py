"""Writes the overview and the traffic view offer. Callers check the role first (views: @operator_required).

Every attempt is audited (`ClusterAction`), applied or failed, with what it changed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from dashboard.hub import get_hub
from dashboard.models import ClusterAction
from dashboard.probe.engine import ProbeStatus, ProbeTarget, clamp_rate
from dashboard.probes import get_registry
from kube.errors import KubeError
from kube.patching import deployment_scale as kube_deployment_scale

log = logging.getLogger(__name__)


def _audit(
    *,
    actor: AbstractBaseUser,
    action: str,
    target: str,
    result: str,
    message: str,
    cluster: str = "",
    namespace: str = "",
    before: Any = None,
    after: Any = None,
) -> None:
    with transaction.atomic():
        ClusterAction.objects.create(
            actor=actor.get_username(),
            cluster=cluster,
            namespace=namespace,
            target=target,
            action=action,
            before=before,
            after=after,
            result=result,
            message=message[:4000],
        )
    log.info("%s %s %s: %s %s", actor.get_username(), action, target, result, message)


def _cached_replicas(cluster: str, namespace: str, name: str) -> int | None:
    """spec.replicas as the watch cache last saw it (the audit's "before"; no extra API call)."""
    deployment = get_hub().informer(cluster, "deployments").get(namespace, name)
    replicas = (deployment or {}).get("spec", {}).get("replicas")
    return replicas if isinstance(replicas, int) else None


def deployment_scale(
    *, cluster: str, namespace: str, name: str, replicas: int, actor: AbstractBaseUser
) -> int:
    """Scale a Deployment through the scale subresource; KubeError carries Kubernetes' message verbatim."""
    target = get_hub().clusters.get(cluster)
    audit = {"actor": actor, "action": "scale", "target": f"deployment/{name}", "cluster": cluster}
    if target is None:
        message = f"no cluster named {cluster!r} is configured"
        _audit(**audit, namespace=namespace, result=ClusterAction.FAILED, message=message)
        raise KubeError(404, "NotFound", message)
    before = {"replicas": _cached_replicas(cluster, namespace, name)}
    try:
        result = kube_deployment_scale(target, namespace=namespace, name=name, replicas=replicas)
    except KubeError as exc:
        _audit(
            **audit,
            namespace=namespace,
            before=before,
            after=before,
            result=ClusterAction.FAILED,
            message=exc.message,
        )
        raise
    _audit(
        **audit,
        namespace=namespace,
        before=before,
        after={"replicas": result},
        result=ClusterAction.APPLIED,
        message=f"scaled to {result} replicas",
    )
    return result


def probe_start(*, target: ProbeTarget, rate: float, actor: AbstractBaseUser) -> ProbeStatus:
    """Start (or restart) the shared probe for ``target`` at ``rate``; a running one takes the new rate."""
    registry = get_registry()
    status = registry.get_or_create(target, rate)
    before = status.rate if status.running else None
    if status.rate != clamp_rate(rate):
        status = registry.set_rate(status.key, rate)
    _audit(
        actor=actor,
        action="probe-start",
        target=status.key,
        namespace=target.namespace or "",
        before={"rate": before},
        after={"rate": status.rate},
        result=ClusterAction.APPLIED,
        message=f"probe running at {status.rate:.0f} req/s",
    )
    return status


def probe_stop(*, key: str, actor: AbstractBaseUser) -> bool:
    """Stop the probe (its last five minutes stay on screen); False when there is no such probe."""
    stopped = get_registry().stop(key)
    _audit(
        actor=actor,
        action="probe-stop",
        target=key,
        result=ClusterAction.APPLIED if stopped else ClusterAction.FAILED,
        message="stopped" if stopped else "no such probe",
    )
    return stopped


def probe_rate_set(*, key: str, rate: float, actor: AbstractBaseUser) -> ProbeStatus:
    """KeyError when there is no such probe."""
    registry = get_registry()
    try:
        status = registry.set_rate(key, rate)
    except KeyError:
        _audit(
            actor=actor, action="probe-rate", target=key, result=ClusterAction.FAILED, message="no such probe"
        )
        raise
    _audit(
        actor=actor,
        action="probe-rate",
        target=key,
        after={"rate": status.rate},
        result=ClusterAction.APPLIED,
        message=f"rate set to {status.rate:.0f} req/s",
    )
    return status
