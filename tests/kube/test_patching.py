from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from kube.clusters import Cluster
from kube.errors import KubeError
from kube.fetching import deployment_get, limitrange_list, service_get
from kube.patching import deployment_scale, limitrange_apply, service_selector_patch
from tests.kube.conftest import create_deployment


def test_scale_through_the_scale_subresource(cluster: Cluster, kube_namespace: str) -> None:
    create_deployment(cluster, kube_namespace, "web", replicas=1)
    assert deployment_scale(cluster, namespace=kube_namespace, name="web", replicas=4) == 4
    assert deployment_get(cluster, namespace=kube_namespace, name="web").desired == 4
    with pytest.raises(KubeError) as missing:
        deployment_scale(cluster, namespace=kube_namespace, name="nope", replicas=1)
    assert missing.value.not_found


def test_selector_patch_is_guarded_by_resource_version(cluster: Cluster, kube_namespace: str) -> None:
    api = cluster.api_client()
    service: Any = {  # the client takes plain dicts
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web", "color": "blue"}, "ports": [{"port": 80}]},
    }
    client.CoreV1Api(api).create_namespaced_service(kube_namespace, service)
    api.close()  # type: ignore[no-untyped-call]
    before = service_get(cluster, namespace=kube_namespace, name="web")
    after = service_selector_patch(
        cluster,
        namespace=kube_namespace,
        name="web",
        selector={"color": "green"},
        resource_version=before.ref.resource_version,
    )
    assert after.selector == {"app": "web", "color": "green"}
    with pytest.raises(KubeError) as stale:  # a second operator with the old page loses
        service_selector_patch(
            cluster,
            namespace=kube_namespace,
            name="web",
            selector={"color": "blue"},
            resource_version=before.ref.resource_version,
        )
    assert stale.value.conflict and stale.value.message
    assert service_get(cluster, namespace=kube_namespace, name="web").selector["color"] == "green"


def test_limitrange_create_then_replace(cluster: Cluster, kube_namespace: str) -> None:
    spec = {"limits": [{"type": "Container", "default": {"cpu": "200m", "memory": "512Mi"}}]}
    created = limitrange_apply(
        cluster, namespace=kube_namespace, body={"metadata": {"name": "limits"}, "spec": spec}
    )
    assert created.limits[0].default == {"cpu": "200m", "memory": "512Mi"}
    spec["limits"][0]["defaultRequest"] = {"cpu": "100m", "memory": "256Mi"}
    replaced = limitrange_apply(
        cluster, namespace=kube_namespace, body={"metadata": {"name": "limits"}, "spec": spec}
    )
    assert replaced.limits[0].default_request == {"cpu": "100m", "memory": "256Mi"}
    assert [lr.ref.name for lr in limitrange_list(cluster, namespace=kube_namespace)] == ["limits"]
