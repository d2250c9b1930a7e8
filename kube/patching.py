"""Writes: the few changes Switchyard makes to a cluster, each one small, typed and precondition-checked."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kube.clusters import Cluster
from kube.errors import KubeError
from kube.types import LimitRangeInfo, ServiceInfo


def _write(cluster: Cluster, call: Callable[[client.ApiClient], Any]) -> dict[str, Any]:
    api_client = cluster.api_client()
    try:
        response = call(api_client)
        body: dict[str, Any] = json.loads(response.data)
        return body
    except ApiException as exc:
        raise KubeError.from_api_exception(exc) from exc
    finally:
        api_client.close()  # type: ignore[no-untyped-call]


def service_selector_patch(
    cluster: Cluster, *, namespace: str, name: str, selector: Mapping[str, str], resource_version: str
) -> ServiceInfo:
    """Set selector keys (merge patch), only if the Service is still at `resource_version` (else 409 Conflict)."""
    body: Any = {"metadata": {"resourceVersion": resource_version}, "spec": {"selector": dict(selector)}}
    obj = _write(
        cluster,
        lambda c: client.CoreV1Api(c).patch_namespaced_service(
            name, namespace, body, _content_type="application/merge-patch+json", _preload_content=False
        ),
    )
    return ServiceInfo.from_obj(obj)


def deployment_scale(
    cluster: Cluster, *, namespace: str, name: str, replicas: int, resource_version: str | None = None
) -> int:
    """Set spec.replicas through the scale subresource; returns the replicas the API recorded."""
    if replicas < 0:
        raise ValueError("replicas must be ≥ 0")
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if resource_version:
        metadata["resourceVersion"] = resource_version  # a precondition: 409 when the Deployment moved on
    body: Any = {  # a dict, as the API takes it
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": metadata,
        "spec": {"replicas": replicas},
    }
    obj = _write(
        cluster,
        lambda c: client.AppsV1Api(c).replace_namespaced_deployment_scale(
            name, namespace, body, _preload_content=False
        ),
    )
    return int((obj.get("spec") or {}).get("replicas") or 0)


def limitrange_apply(cluster: Cluster, *, namespace: str, body: Mapping[str, Any]) -> LimitRangeInfo:
    """Create the LimitRange, or replace it when one with that name exists (its resourceVersion kept as precondition)."""
    manifest: Any = {"apiVersion": "v1", "kind": "LimitRange", **dict(body)}  # a dict, as the API takes it
    meta = dict(manifest.get("metadata") or {})
    meta["namespace"] = namespace
    manifest["metadata"] = meta
    name = str(meta.get("name") or "")
    try:
        obj = _write(
            cluster,
            lambda c: client.CoreV1Api(c).create_namespaced_limit_range(
                namespace, manifest, _preload_content=False
            ),
        )
    except KubeError as exc:
        if exc.status != 409 or not name:
            raise
        if "resourceVersion" not in meta:
            current = _write(
                cluster,
                lambda c: client.CoreV1Api(c).read_namespaced_limit_range(
                    name, namespace, _preload_content=False
                ),
            )
            meta["resourceVersion"] = (current.get("metadata") or {}).get("resourceVersion")
        obj = _write(
            cluster,
            lambda c: client.CoreV1Api(c).replace_namespaced_limit_range(
                name, namespace, manifest, _preload_content=False
            ),
        )
    return LimitRangeInfo.from_obj(obj)


def limitrange_delete(cluster: Cluster, *, namespace: str, name: str) -> None:
    _write(
        cluster,
        lambda c: client.CoreV1Api(c).delete_namespaced_limit_range(name, namespace, _preload_content=False),
    )


def deployment_delete(
    cluster: Cluster,
    *,
    namespace: str,
    name: str,
    resource_version: str | None = None,
    uid: str | None = None,
) -> None:
    """Delete a Deployment, its ReplicaSets and pods following (Background propagation), only if it is
    still the object at `uid` / `resource_version` (else 409 Conflict: nothing is deleted)."""
    preconditions = client.V1Preconditions(resource_version=resource_version or None, uid=uid or None)
    body = client.V1DeleteOptions(preconditions=preconditions, propagation_policy="Background")
    _write(
        cluster,
        lambda c: client.AppsV1Api(c).delete_namespaced_deployment(
            name, namespace, body=body, _preload_content=False
        ),
    )
