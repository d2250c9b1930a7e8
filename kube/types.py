"""Small read-only views of Kubernetes objects, built from the API's JSON (the watch cache holds dicts).

Nothing here imports `kubernetes`: callers get these dataclasses, never `V1*` models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Obj = Mapping[str, Any]

# Label keys that carry a version or a track, in the order we prefer them.
VERSION_KEYS = ("version", "app.kubernetes.io/version")
TRACK_KEYS = ("track",)


def parse_time(value: object) -> datetime | None:
    """RFC 3339 timestamps as the API writes them (`2024-05-01T10:00:00Z`)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _labels(meta: Obj) -> dict[str, str]:
    labels = meta.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def _first(labels: Mapping[str, str], keys: tuple[str, ...]) -> str:
    return next((labels[k] for k in keys if k in labels), "")


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""

    @property
    def true(self) -> bool:
        return self.status == "True"


def _conditions(status: Obj) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "Unknown")),
            reason=str(c.get("reason") or ""),
            message=str(c.get("message") or ""),
        )
        for c in status.get("conditions") or []
    )


def _find(conditions: tuple[Condition, ...], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def _images(pod_spec: Obj) -> tuple[str, ...]:
    return tuple(str(c.get("image", "")) for c in pod_spec.get("containers") or [])


@dataclass(frozen=True)
class ObjectRef:
    namespace: str
    name: str
    uid: str
    resource_version: str
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None

    @classmethod
    def from_obj(cls, obj: Obj) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
            uid=str(meta.get("uid") or ""),
            resource_version=str(meta.get("resourceVersion") or ""),
            labels=_labels(meta),
            created_at=parse_time(meta.get("creationTimestamp")),
        )


@dataclass(frozen=True)
class DeploymentInfo:
    ref: ObjectRef
    desired: int
    ready: int
    available_replicas: int
    updated: int
    available: Condition | None
    selector: dict[str, str]
    template_labels: dict[str, str]
    images: tuple[str, ...]
    generation: int
    observed_generation: int

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def version(self) -> str:
        return _first(self.template_labels, VERSION_KEYS) or _first(self.ref.labels, VERSION_KEYS)

    @property
    def track(self) -> str:
        return _first(self.template_labels, TRACK_KEYS) or _first(self.ref.labels, TRACK_KEYS)

    @property
    def is_available(self) -> bool:
        return self.available is not None and self.available.true

    @property
    def ready_percent(self) -> int:
        return 100 if self.desired == 0 else min(100, round(100 * self.ready / self.desired))

    @classmethod
    def from_obj(cls, obj: Obj) -> DeploymentInfo:
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        template = spec.get("template") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        replicas = spec.get("replicas")
        return cls(
            ref=ObjectRef.from_obj(obj),
            desired=1 if replicas is None else int(replicas),  # the API's default
            ready=int(status.get("readyReplicas") or 0),
            available_replicas=int(status.get("availableReplicas") or 0),
            updated=int(status.get("updatedReplicas") or 0),
            available=_find(_conditions(status), "Available"),
            selector={str(k): str(v) for k, v in selector.items()},
            template_labels=_labels(template.get("metadata") or {}),
            images=_images(template.get("spec") or {}),
            generation=int((obj.get("metadata") or {}).get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
        )


@dataclass(frozen=True)
class ReplicaSetInfo:
    ref: ObjectRef
    desired: int
    ready: int
    owner: str  # the owning Deployment's name, or ""
    revision: str
    conditions: tuple[Condition, ...]

    @classmethod
    def from_obj(cls, obj: Obj) -> ReplicaSetInfo:
        meta = obj.get("metadata") or {}
        status = obj.get("status") or {}
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("kind") == "Deployment"]
        replicas = (obj.get("spec") or {}).get("replicas")
        return cls(
            ref=ObjectRef.from_obj(obj),
            desired=1 if replicas is None else int(replicas),
            ready=int(status.get("readyReplicas") or 0),
            owner=str(owners[0].get("name", "")) if owners else "",
            revision=str((meta.get("annotations") or {}).get("deployment.kubernetes.io/revision", "")),
            conditions=_conditions(status),
        )


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    target_port: str
    protocol: str
    node_port: int | None = None


@dataclass(frozen=True)
class ServiceInfo:
    ref: ObjectRef
    type: str
    selector: dict[str, str]
    cluster_ip: str
    ports: tuple[ServicePort, ...]
    annotations: dict[str, str]

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    @classmethod
    def from_obj(cls, obj: Obj) -> ServiceInfo:
        spec = obj.get("spec") or {}
        meta = obj.get("metadata") or {}
        ports = tuple(
            ServicePort(
                name=str(p.get("name") or ""),
                port=int(p.get("port") or 0),
                target_port=str(p.get("targetPort", p.get("port", ""))),
                protocol=str(p.get("protocol") or "TCP"),
                node_port=int(p["nodePort"]) if p.get("nodePort") else None,
            )
            for p in spec.get("ports") or []
        )
        return cls(
            ref=ObjectRef.from_obj(obj),
            type=str(spec.get("type") or "ClusterIP"),
            selector={str(k): str(v) for k, v in (spec.get("selector") or {}).items()},
            cluster_ip=str(spec.get("clusterIP") or ""),
            ports=ports,
            annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        )


@dataclass(frozen=True)
class EndpointsInfo:
    ref: ObjectRef
    ready: tuple[str, ...]  # ready addresses' IPs
    not_ready: tuple[str, ...]

    @classmethod
    def from_obj(cls, obj: Obj) -> EndpointsInfo:
        ready: list[str] = []
        not_ready: list[str] = []
        for subset in obj.get("subsets") or []:
            ready += [str(a.get("ip", "")) for a in subset.get("addresses") or []]
            not_ready += [str(a.get("ip", "")) for a in subset.get("notReadyAddresses") or []]
        return cls(ref=ObjectRef.from_obj(obj), ready=tuple(ready), not_ready=tuple(not_ready))


@dataclass(frozen=True)
class PodInfo:
    ref: ObjectRef
    phase: str
    ready: bool
    containers_ready: int
    containers: int
    ip: str
    node: str
    restarts: int
    reason: str  # a waiting/terminated reason worth showing (CrashLoopBackOff…), or the pod's own
    deleting: bool

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def version(self) -> str:
        return _first(self.ref.labels, VERSION_KEYS)

    @property
    def track(self) -> str:
        return _first(self.ref.labels, TRACK_KEYS)

    @property
    def status(self) -> str:
        """What `kubectl get pods` shows in STATUS, roughly: Terminating, a container reason, or the phase."""
        if self.deleting:
            return "Terminating"
        return self.reason or self.phase

    @classmethod
    def from_obj(cls, obj: Obj) -> PodInfo:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        statuses = status.get("containerStatuses") or []
        reason = str(status.get("reason") or "")
        for cs in statuses:
            state = cs.get("state") or {}
            for key in ("waiting", "terminated"):
                if state.get(key, {}).get("reason"):
                    reason = str(state[key]["reason"])
        ready_cond = _find(_conditions(status), "Ready")
        return cls(
            ref=ObjectRef.from_obj(obj),
            phase=str(status.get("phase") or "Pending"),
            ready=ready_cond is not None and ready_cond.true,
            containers_ready=sum(1 for cs in statuses if cs.get("ready")),
            containers=len(spec.get("containers") or []),
            ip=str(status.get("podIP") or ""),
            node=str(spec.get("nodeName") or ""),
            restarts=sum(int(cs.get("restartCount") or 0) for cs in statuses),
            reason=reason,
            deleting=bool(meta.get("deletionTimestamp")),
        )


@dataclass(frozen=True)
class NamespaceInfo:
    name: str
    phase: str

    @classmethod
    def from_obj(cls, obj: Obj) -> NamespaceInfo:
        return cls(
            name=str((obj.get("metadata") or {}).get("name") or ""),
            phase=str((obj.get("status") or {}).get("phase") or "Active"),
        )


@dataclass(frozen=True)
class EventInfo:
    ref: ObjectRef
    type: str
    reason: str
    message: str
    involved_kind: str
    involved_name: str
    count: int
    last_seen: datetime | None

    @classmethod
    def from_obj(cls, obj: Obj) -> EventInfo:
        involved = obj.get("involvedObject") or {}
        return cls(
            ref=ObjectRef.from_obj(obj),
            type=str(obj.get("type") or "Normal"),
            reason=str(obj.get("reason") or ""),
            message=str(obj.get("message") or ""),
            involved_kind=str(involved.get("kind") or ""),
            involved_name=str(involved.get("name") or ""),
            count=int(obj.get("count") or 1),
            last_seen=parse_time(obj.get("lastTimestamp") or obj.get("eventTime"))
            or parse_time((obj.get("metadata") or {}).get("creationTimestamp")),
        )


@dataclass(frozen=True)
class ResourceQuotaInfo:
    ref: ObjectRef
    hard: dict[str, str]
    used: dict[str, str]
    scopes: tuple[str, ...]

    @classmethod
    def from_obj(cls, obj: Obj) -> ResourceQuotaInfo:
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        return cls(
            ref=ObjectRef.from_obj(obj),
            hard={str(k): str(v) for k, v in (status.get("hard") or spec.get("hard") or {}).items()},
            used={str(k): str(v) for k, v in (status.get("used") or {}).items()},
            scopes=tuple(str(s) for s in spec.get("scopes") or []),
        )


@dataclass(frozen=True)
class LimitRangeItem:
    type: str
    default: dict[str, str]
    default_request: dict[str, str]
    min: dict[str, str]
    max: dict[str, str]
    max_limit_request_ratio: dict[str, str]


@dataclass(frozen=True)
class LimitRangeInfo:
    ref: ObjectRef
    limits: tuple[LimitRangeItem, ...]

    @classmethod
    def from_obj(cls, obj: Obj) -> LimitRangeInfo:
        def q(item: Obj, key: str) -> dict[str, str]:
            return {str(k): str(v) for k, v in (item.get(key) or {}).items()}

        limits = tuple(
            LimitRangeItem(
                type=str(i.get("type") or ""),
                default=q(i, "default"),
                default_request=q(i, "defaultRequest"),
                min=q(i, "min"),
                max=q(i, "max"),
                max_limit_request_ratio=q(i, "maxLimitRequestRatio"),
            )
            for i in (obj.get("spec") or {}).get("limits") or []
        )
        return cls(ref=ObjectRef.from_obj(obj), limits=limits)
