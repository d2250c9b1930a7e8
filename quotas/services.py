"""The quotas app's services: headroom before adding pods, and LimitRange apply/delete (audited writes)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from dashboard.hub import get_hub
from kube.clusters import Cluster
from kube.errors import KubeError
from kube.fetching import limitrange_list, resourcequota_list
from kube.types import LimitRangeInfo, ResourceQuotaInfo
from quotas.headroom import Headroom, QuotaHeadroom, ResourceHeadroom, headroom_compute

log = logging.getLogger(__name__)

__all__ = ["Headroom", "QuotaHeadroom", "ResourceHeadroom", "quota_headroom"]

SYNC_WAIT_SECONDS = 3.0


def _cluster(cluster: str | Cluster) -> Cluster:
    if isinstance(cluster, Cluster):
        return cluster
    found = get_hub().clusters.get(cluster)
    if found is None:
        raise KubeError(404, "NotFound", f"no cluster named {cluster!r} is configured")
    return found


def _cached(cluster: Cluster, kind: str, namespace: str) -> list[dict[str, Any]] | None:
    """The hub's cache for one namespace, or None when the informer has not synced in time."""
    hub = get_hub()
    if cluster.name not in hub.clusters:
        return None
    informer = hub.informer(cluster.name, kind)
    if not informer.wait_synced(SYNC_WAIT_SECONDS):
        return None
    return informer.items(namespace)


def quota_headroom(
    *,
    cluster: str | Cluster,
    namespace: str,
    pod_template: Mapping[str, Any],
    replicas: int,
    limitranges: Iterable[LimitRangeInfo | Mapping[str, Any]] | None = None,
    quotas: Iterable[ResourceQuotaInfo | Mapping[str, Any]] | None = None,
) -> Headroom:
    """Would `replicas` more pods from `pod_template` (a Deployment's spec.template) fit the namespace's
    ResourceQuotas after its LimitRanges' defaults? LimitRanges and quotas not given are read from the
    watch hub's cache (or from the API when the cache is not ready). KubeError when the cluster refuses."""
    target = _cluster(cluster)
    if limitranges is None:
        cached = _cached(target, "limitranges", namespace)
        limitranges = cached if cached is not None else limitrange_list(target, namespace=namespace)
    if quotas is None:
        cached = _cached(target, "resourcequotas", namespace)
        quotas = cached if cached is not None else resourcequota_list(target, namespace=namespace)
    return headroom_compute(
        namespace=namespace,
        pod_template=pod_template,
        replicas=replicas,
        limitranges=limitranges,
        quotas=quotas,
    )
