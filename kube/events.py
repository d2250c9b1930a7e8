"""Kubernetes Events written by Switchyard, so `kubectl describe` tells the same story as the dashboard."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kube.clusters import Cluster
from kube.errors import KubeError
from kube.types import ObjectRef

COMPONENT = "switchyard"


def event_create(
    cluster: Cluster,
    *,
    involved: ObjectRef,
    kind: str,
    reason: str,
    message: str,
    api_version: str = "v1",
    type_: str = "Normal",
) -> str:
    """A core/v1 Event about `involved` (kind, name, uid: what describe's field selector asks for); its name."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = f"{involved.name}.{uuid.uuid4().hex[:16]}"  # as client-go's recorder: object name + unique suffix
    body: Any = {  # a dict, as the API takes it
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": involved.namespace},
        "involvedObject": {
            "apiVersion": api_version,
            "kind": kind,
            "name": involved.name,
            "namespace": involved.namespace,
            "uid": involved.uid,
            "resourceVersion": involved.resource_version,
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    api_client = cluster.api_client()
    try:
        response: Any = client.CoreV1Api(api_client).create_namespaced_event(
            involved.namespace, body, _preload_content=False
        )
        return str((json.loads(response.data).get("metadata") or {}).get("name") or name)
    except ApiException as exc:
        raise KubeError.from_api_exception(exc) from exc
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
