"""The quotas app's services: headroom before adding pods, and LimitRange apply/delete (audited writes)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from dashboard.hub import get_hub, group_name
from kube.clusters import Cluster
from kube.errors import KubeError
from kube.fetching import limitrange_list, resourcequota_list
from kube.patching import limitrange_apply as kube_limitrange_apply
from kube.patching import limitrange_delete as kube_limitrange_delete
from kube.types import LimitRangeInfo, ResourceQuotaInfo
from quotas.headroom import Headroom, QuotaHeadroom, ResourceHeadroom, headroom_compute
from quotas.models import QuotaAction

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


# -- LimitRange writes: audited in the same transaction as the decision, broadcast after commit --------

QUOTAS_GROUP_KIND = "quotas"  # the Channels group (per cluster) that hears about audited actions


def _limitrange_spec(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    """The LimitRange's spec as it is now (a fresh read, not the cache: it is the audit's `before`)."""
    for lr in limitrange_list(cluster, namespace=namespace):
        if lr.ref.name == name:
            return limitrange_spec_dict(lr)
    return None


def limitrange_spec_dict(lr: LimitRangeInfo) -> dict[str, Any]:
    """The spec back as the API's JSON (only the keys that are set)."""
    items = []
    for item in lr.limits:
        body: dict[str, Any] = {"type": item.type}
        for key, values in (
            ("default", item.default),
            ("defaultRequest", item.default_request),
            ("min", item.min),
            ("max", item.max),
            ("maxLimitRequestRatio", item.max_limit_request_ratio),
        ):
            if values:
                body[key] = dict(values)
        items.append(body)
    return {"limits": items}


def quotas_broadcast(*, cluster: str, namespace: str) -> None:
    """Tell every quotas page of this cluster to re-render (called from transaction.on_commit)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "quotas.changed", "cluster": cluster, "namespace": namespace}
    try:
        async_to_sync(layer.group_send)(group_name(cluster, QUOTAS_GROUP_KIND), message)
    except Exception:  # a broadcast that fails must not turn a done change into an error page
        log.exception("quotas broadcast failed")


def _record(
    *,
    actor: Any,
    cluster: str,
    namespace: str,
    action: str,
    name: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    error: KubeError | None,
) -> Any:
    return QuotaAction.objects.create(
        user=actor if getattr(actor, "pk", None) else None,
        username=actor.get_username(),
        cluster=cluster,
        namespace=namespace,
        action=action,
        name=name,
        before=before,
        after=None if error else after,
        result=QuotaAction.REFUSED if error else QuotaAction.OK,
        message=error.message if error else "",
    )


def limitrange_apply(
    *, cluster: str, namespace: str, name: str, spec: Mapping[str, Any], actor: Any
) -> LimitRangeInfo:
    """Create or replace the LimitRange `name` with `spec`, audited. KubeError (Kubernetes' words, e.g. a 422)
    when the API refuses; the refusal is audited too."""
    target = _cluster(cluster)
    error: KubeError | None = None
    applied: LimitRangeInfo | None = None
    with transaction.atomic():
        before = _limitrange_spec(target, namespace, name)
        try:
            applied = kube_limitrange_apply(
                target, namespace=namespace, body={"metadata": {"name": name}, "spec": dict(spec)}
            )
        except KubeError as exc:
            error = exc
        _record(
            actor=actor,
            cluster=target.name,
            namespace=namespace,
            action="apply",
            name=name,
            before=before,
            after=limitrange_spec_dict(applied) if applied else None,
            error=error,
        )
        transaction.on_commit(lambda: quotas_broadcast(cluster=target.name, namespace=namespace))
    if error is not None:
        raise error
    assert applied is not None
    log.info("%s applied LimitRange %s/%s in %s", actor.get_username(), namespace, name, target.name)
    return applied


def limitrange_delete(*, cluster: str, namespace: str, name: str, actor: Any) -> None:
    """Delete the LimitRange, audited; KubeError (e.g. 404) when the API refuses, audited as well."""
    target = _cluster(cluster)
    error: KubeError | None = None
    with transaction.atomic():
        before = _limitrange_spec(target, namespace, name)
        try:
            kube_limitrange_delete(target, namespace=namespace, name=name)
        except KubeError as exc:
            error = exc
        _record(
            actor=actor,
            cluster=target.name,
            namespace=namespace,
            action="delete",
            name=name,
            before=before,
            after=None,
            error=error,
        )
        transaction.on_commit(lambda: quotas_broadcast(cluster=target.name, namespace=namespace))
    if error is not None:
        raise error
    log.info("%s deleted LimitRange %s/%s in %s", actor.get_username(), namespace, name, target.name)
