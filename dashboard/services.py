"""Writes the overview and the traffic view offer. Callers check the role first (views: @operator_required)."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser

from dashboard.hub import get_hub
from dashboard.probe.engine import ProbeStatus, ProbeTarget, clamp_rate
from dashboard.probes import get_registry
from kube.errors import KubeError
from kube.patching import deployment_scale as kube_deployment_scale

log = logging.getLogger(__name__)


def deployment_scale(
    *, cluster: str, namespace: str, name: str, replicas: int, actor: AbstractBaseUser
) -> int:
    """Scale a Deployment through the scale subresource; KubeError carries Kubernetes' message verbatim."""
    target = get_hub().clusters.get(cluster)
    if target is None:
        raise KubeError(404, "NotFound", f"no cluster named {cluster!r} is configured")
    result = kube_deployment_scale(target, namespace=namespace, name=name, replicas=replicas)
    log.info("%s scaled deployment %s/%s in %s to %d", actor.get_username(), namespace, name, cluster, result)
    return result


def probe_start(*, target: ProbeTarget, rate: float, actor: AbstractBaseUser) -> ProbeStatus:
    """Start (or restart) the shared probe for ``target`` at ``rate``; a running one takes the new rate."""
    registry = get_registry()
    status = registry.get_or_create(target, rate)
    if status.rate != clamp_rate(rate):
        status = registry.set_rate(status.key, rate)
    log.info("%s started probe %s at %.0f req/s", actor.get_username(), status.key, status.rate)
    return status


def probe_stop(*, key: str, actor: AbstractBaseUser) -> bool:
    """Stop the probe (its last five minutes stay on screen); False when there is no such probe."""
    stopped = get_registry().stop(key)
    if stopped:
        log.info("%s stopped probe %s", actor.get_username(), key)
    return stopped


def probe_rate_set(*, key: str, rate: float, actor: AbstractBaseUser) -> ProbeStatus:
    """KeyError when there is no such probe."""
    status = get_registry().set_rate(key, rate)
    log.info("%s set probe %s to %.0f req/s", actor.get_username(), key, status.rate)
    return status
