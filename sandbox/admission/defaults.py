"""Defaults Kubernetes sets on create, applied in place (pkg/apis/core/v1/defaults.go,
pkg/apis/apps/v1/defaults.go, the pod strategy's PrepareForCreate), and the pod-template-hash.

apply_defaults is idempotent, so the API server calls it on create and again on every update.
Values of the wrong type are left alone for validation to report.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sandbox.apiserver.validation import quantity_value

# rand.SafeEncodeString's alphabet: no vowels (no words) and no confusable 0/1/3.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def _fnv32a(data: bytes) -> int:
    h = _FNV32_OFFSET
    for byte in data:
        h ^= byte
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: every character mapped into ALPHANUMS by its code point."""
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in text)


def pod_template_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    """controller.ComputeHash: FNV-32a of the template (+ collisionCount, little endian uint32),
    the decimal sum rendered with SafeEncodeString, e.g. `7595ccbdd5`.

    Kubernetes hashes a spew dump of the Go struct; we hash a stable JSON rendering of what that struct
    holds: a JSON null decodes to the zero value, the same as an absent field (kubectl rollout undo sends
    the old template with `creationTimestamp: null`; it must hash like the template it came from).
    """
    data = json.dumps(without_nulls(template), sort_keys=True, separators=(",", ":"), default=str).encode()
    if collision_count is not None:
        # FNV streams, so hashing the concatenation is hashing the two writes in turn.
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little")
    h = _fnv32a(data)
    return safe_encode(str(h))


def without_nulls(value: Any) -> Any:
    """A copy without the null map values (Go's decoding makes them the zero value, as if absent)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def random_suffix(n: int = 5) -> str:
    """rand.String(n): the suffix generateName gets (`<rs>-` + 5 characters)."""
    return "".join(secrets.choice(ALPHANUMS) for _ in range(max(n, 0)))


# --- helpers ---------------------------------------------------------------------------------------


def _dict_at(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    """obj[key] as a dict, created when missing; None when it holds something else."""
    value = obj.get(key)
    if value is None:
        value = obj[key] = {}
    return value if isinstance(value, dict) else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _set(obj: dict[str, Any], key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


# --- containers and pod specs -------------------------------------------------------------------------


def _image_pull_policy(image: Any) -> str:
    # Always for `:latest` or an untagged image, IfNotPresent for any other tag or a digest.
    if not isinstance(image, str):
        return "IfNotPresent"
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    _set(probe, "timeoutSeconds", 1)
    _set(probe, "periodSeconds", 10)
    _set(probe, "successThreshold", 1)
    _set(probe, "failureThreshold", 3)
    http_get = probe.get("httpGet")
    if isinstance(http_get, dict):
        _set(http_get, "path", "/")
        _set(http_get, "scheme", "HTTP")


def _default_container(container: dict[str, Any]) -> None:
    if container.get("imagePullPolicy") is None:
        container["imagePullPolicy"] = _image_pull_policy(container.get("image"))
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    _set(container, "resources", {})
    for port in _dicts(container.get("ports")):
        _set(port, "protocol", "TCP")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(probe_name))


def _default_pod_spec(spec: dict[str, Any]) -> None:
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "restartPolicy", "Always")
    _set(spec, "securityContext", {})
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "schedulerName", "default-scheduler")
    for container in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        _default_container(container)


def _default_template(owner_spec: dict[str, Any]) -> None:
    template = _dict_at(owner_spec, "template")
    if template is None:
        return
    spec = _dict_at(template, "spec")
    if spec is not None:
        _default_pod_spec(spec)


def _requests_from_limits(container: dict[str, Any]) -> None:
    # SetDefaults_Pod: a limit without a request makes the request equal to the limit.
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return
    limits = resources.get("limits")
    if not isinstance(limits, dict) or not limits:
        return
    requests = resources.get("requests")
    if requests is None:
        requests = resources["requests"] = {}
    if not isinstance(requests, dict):
        return
    for name, value in limits.items():
        requests.setdefault(name, value)


def qos_class(spec: dict[str, Any]) -> str:
    """qos.GetPodQOS over cpu and memory: Guaranteed, Burstable or BestEffort."""
    containers = _dicts(spec.get("containers")) + _dicts(spec.get("initContainers"))
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for container in containers:
        resources = container.get("resources")
        resources = resources if isinstance(resources, dict) else {}
        req = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
        lim = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
        assert isinstance(req, dict) and isinstance(lim, dict)
        for name in ("cpu", "memory"):
            r = quantity_value(req.get(name))
            if r is not None and r > 0:
                requests[name] = requests.get(name, 0) + r
            q = quantity_value(lim.get(name))
            if q is not None and q > 0:
                limits[name] = limits.get(name, 0) + q
        if not all((quantity_value(lim.get(n)) or 0) > 0 for n in ("cpu", "memory")):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and set(requests) == {"cpu", "memory"} and requests == limits:
        return "Guaranteed"
    return "Burstable"


# --- per resource ---------------------------------------------------------------------------------------


def _pod(obj: dict[str, Any]) -> None:
    spec = _dict_at(obj, "spec")
    if spec is None:
        return
    for container in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        _requests_from_limits(container)
    _default_pod_spec(spec)
    _set(spec, "enableServiceLinks", True)
    status = _dict_at(obj, "status")
    if status is not None:
        _set(status, "phase", "Pending")
        _set(status, "qosClass", qos_class(spec))


def _deployment(obj: dict[str, Any]) -> None:
    spec = _dict_at(obj, "spec")
    if spec is None:
        return
    _set(spec, "replicas", 1)
    strategy = _dict_at(spec, "strategy")
    if strategy is not None:
        _set(strategy, "type", "RollingUpdate")
        if strategy.get("type") == "RollingUpdate":
            rolling = _dict_at(strategy, "rollingUpdate")
            if rolling is not None:
                _set(rolling, "maxUnavailable", "25%")
                _set(rolling, "maxSurge", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _default_template(spec)


def _replicaset(obj: dict[str, Any]) -> None:
    spec = _dict_at(obj, "spec")
    if spec is None:
        return
    _set(spec, "replicas", 1)
    _default_template(spec)


def _service(obj: dict[str, Any]) -> None:
    spec = _dict_at(obj, "spec")
    if spec is None:
        return
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    for port in _dicts(spec.get("ports")):
        _set(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    svc_type = spec.get("type")
    if svc_type == "ExternalName":
        return
    _set(spec, "internalTrafficPolicy", "Cluster")
    if svc_type in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    _set(spec, "ipFamilyPolicy", "SingleStack")
    _set(spec, "ipFamilies", ["IPv4"])


def _namespace(obj: dict[str, Any]) -> None:
    metadata = _dict_at(obj, "metadata")
    if metadata is not None and isinstance(metadata.get("name"), str) and metadata["name"]:
        labels = _dict_at(metadata, "labels")
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = metadata["name"]
    status = _dict_at(obj, "status")
    if status is not None:
        _set(status, "phase", "Active")


def _secret(obj: dict[str, Any]) -> None:
    _set(obj, "type", "Opaque")


def _configmap(obj: dict[str, Any]) -> None:
    _set(obj, "data", {})


def _endpoints(obj: dict[str, Any]) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            _set(port, "protocol", "TCP")


def _limitrange(obj: dict[str, Any]) -> None:
    # SetDefaults_LimitRangeItem (type Container): default <- max, defaultRequest <- default, else <- min.
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for item in _dicts(spec.get("limits")):
        if item.get("type") != "Container":
            continue
        default = item.get("default") if isinstance(item.get("default"), dict) else {}
        default_request = item.get("defaultRequest") if isinstance(item.get("defaultRequest"), dict) else {}
        assert isinstance(default, dict) and isinstance(default_request, dict)
        for source, target in (("max", default), ("default", default_request), ("min", default_request)):
            values = default if source == "default" else item.get(source)
            if isinstance(values, dict):
                for name, quantity in values.items():
                    target.setdefault(name, quantity)
        if default:
            item["default"] = default
        if default_request:
            item["defaultRequest"] = default_request


_DEFAULTERS = {
    "pods": _pod,
    "deployments": _deployment,
    "replicasets": _replicaset,
    "services": _service,
    "namespaces": _namespace,
    "secrets": _secret,
    "configmaps": _configmap,
    "endpoints": _endpoints,
    "limitranges": _limitrange,
}


def apply_defaults(resource: str, obj: dict[str, Any]) -> None:
    """Set the defaults Kubernetes sets for `resource` (a plural name) on `obj`, in place."""
    if not isinstance(obj, dict):
        return
    defaulter = _DEFAULTERS.get(resource)
    if defaulter is not None:
        defaulter(obj)
