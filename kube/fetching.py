"""One-off reads that must be current (before a write), not from the watch cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kube.clusters import Cluster
from kube.errors import KubeError
from kube.types import DeploymentInfo, LimitRangeInfo, ResourceQuotaInfo, ServiceInfo

T = TypeVar("T")


def _read(cluster: Cluster, call: Callable[[client.ApiClient], Any], convert: Callable[[Any], T]) -> T:
    api_client = cluster.api_client()
    try:
        response = call(api_client)
        return convert(json.loads(response.data))
    except ApiException as exc:
        raise KubeError.from_api_exception(exc) from exc
    finally:
        api_client.close()  # type: ignore[no-untyped-call]


def deployment_get(cluster: Cluster, *, namespace: str, name: str) -> DeploymentInfo:
    return _read(
        cluster,
        lambda c: client.AppsV1Api(c).read_namespaced_deployment(name, namespace, _preload_content=False),
        DeploymentInfo.from_obj,
    )


def service_get(cluster: Cluster, *, namespace: str, name: str) -> ServiceInfo:
    return _read(
        cluster,
        lambda c: client.CoreV1Api(c).read_namespaced_service(name, namespace, _preload_content=False),
        ServiceInfo.from_obj,
    )


def limitrange_list(cluster: Cluster, *, namespace: str) -> list[LimitRangeInfo]:
    return _read(
        cluster,
        lambda c: client.CoreV1Api(c).list_namespaced_limit_range(namespace, _preload_content=False),
        lambda body: [LimitRangeInfo.from_obj(i) for i in body.get("items") or []],
    )


def resourcequota_list(cluster: Cluster, *, namespace: str) -> list[ResourceQuotaInfo]:
    return _read(
        cluster,
        lambda c: client.CoreV1Api(c).list_namespaced_resource_quota(namespace, _preload_content=False),
        lambda body: [ResourceQuotaInfo.from_obj(i) for i in body.get("items") or []],
    )


def access_allowed(
    cluster: Cluster, *, verb: str, resource: str, namespace: str, group: str = "", subresource: str = ""
) -> tuple[bool, str]:
    """SelfSubjectAccessReview: may the dashboard's own identity do this? (allowed, reason)."""
    review: Any = {  # a dict, as the API takes it
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "verb": verb,
                "resource": resource,
                "namespace": namespace,
                "group": group,
                "subresource": subresource,
            }
        },
    }
    return _read(
        cluster,
        lambda c: client.AuthorizationV1Api(c).create_self_subject_access_review(
            review, _preload_content=False
        ),
        lambda body: (
            bool((body.get("status") or {}).get("allowed")),
            str((body.get("status") or {}).get("reason") or ""),
        ),
    )
