"""Writes the overview offers. Callers check the role first (views: @operator_required)."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser

from dashboard.hub import get_hub
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
