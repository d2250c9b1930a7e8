"""The registry of resource types the sandbox serves: group, version, kind, plural, scope, verbs.

Every other module names a resource by its plural (`pods`, `deployments`, `endpointslices`); plurals are
unique across the groups served here. `RESOURCES` is in discovery order (kubectl's `get all` lists in
that order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")

_COMMON_TOP = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    # Top-level fields the kind has; anything else is an "unknown field" under fieldValidation.
    fields: tuple[str, ...] = ("spec", "status")
    # Kubernetes sets metadata.generation and bumps it on spec changes only for these kinds.
    has_generation: bool = False
    stored: bool = True
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """`pods`, `deployments.apps` — how Kubernetes names the resource in errors and quotas."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def top_level_fields(self) -> frozenset[str]:
        return frozenset(_COMMON_TOP + self.fields)

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        ns = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return prefix + ns + f"/{self.plural}" + (f"/{name}" if name else "")


RESOURCES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType("", "v1", "Pod", "pods", "pod", True, ("po",), ("all",), subresources=("status", "log")),
    ResourceType(
        "", "v1", "Service", "services", "service", True, ("svc",), ("all",), subresources=("status",)
    ),
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        False,
        ("ns",),
        verbs=NO_COLLECTION_DELETE,
        subresources=("status", "finalize"),
    ),
    ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",), fields=("subsets",)),
    ResourceType(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        True,
        ("cm",),
        fields=("data", "binaryData", "immutable"),
    ),
    ResourceType(
        "", "v1", "Secret", "secrets", "secret", True, fields=("data", "stringData", "type", "immutable")
    ),
    ResourceType(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        True,
        ("sa",),
        fields=("secrets", "imagePullSecrets", "automountServiceAccountToken"),
    ),
    ResourceType(
        "",
        "v1",
        "Event",
        "events",
        "event",
        True,
        ("ev",),
        fields=(
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        ),
    ),
    ResourceType(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        True,
        ("quota",),
        subresources=("status",),
    ),
    ResourceType("", "v1", "LimitRange", "limitranges", "limitrange", True, ("limits",), fields=("spec",)),
    ResourceType("", "v1", "Node", "nodes", "node", False, ("no",), subresources=("status",)),
    # apps/v1
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        True,
        ("deploy",),
        ("all",),
        subresources=("scale", "status"),
        has_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        True,
        ("rs",),
        ("all",),
        subresources=("scale", "status"),
        has_generation=True,
    ),
    # discovery.k8s.io/v1
    ResourceType(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        True,
        fields=("addressType", "endpoints", "ports"),
    ),
    # networking.k8s.io/v1
    ResourceType(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        True,
        ("ing",),
        subresources=("status",),
        has_generation=True,
    ),
    # rbac.authorization.k8s.io/v1 (stored, not enforced)
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True, fields=("rules",)),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        False,
        fields=("rules", "aggregationRule"),
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        True,
        fields=("subjects", "roleRef"),
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        False,
        fields=("subjects", "roleRef"),
    ),
    # authorization.k8s.io/v1: answered, never stored
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        False,
        verbs=("create",),
        stored=False,
    ),
)

BY_PLURAL: dict[str, ResourceType] = {r.plural: r for r in RESOURCES}
BY_GVR: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND: dict[tuple[str, str], ResourceType] = {(r.group_version, r.kind): r for r in RESOURCES}


def resource(plural: str) -> ResourceType:
    """The type for a plural resource name; KeyError for one the sandbox does not serve."""
    return BY_PLURAL[plural]


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in discovery order, core ("", "v1") first."""
    seen: list[tuple[str, str]] = []
    for r in RESOURCES:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def in_group_version(group: str, version: str) -> list[ResourceType]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


# The group-version of the /scale subresource body.
SCALE_GROUP_VERSION = "autoscaling/v1"
