"""What a pod counts against a ResourceQuota — Kubernetes' pod evaluator (``pkg/quota/v1/evaluator/core/pods.go``).

Shared by the sandbox's quota admission and the dashboard's headroom check, so both measure a pod the same
way: the app containers' requests/limits summed, maxed against each init container, plus ``pods`` and
``count/pods``. Inputs are plain API dicts; malformed values are skipped, never raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from quantities import Quantity, QuantityError, parse_quantity

Usage = dict[str, Quantity]

ONE = parse_quantity(1)

# Compute resources a container can request; a quota on the bare name means the request.
POD_COMPUTE = ("cpu", "memory", "ephemeral-storage")
POD_RESOURCES = frozenset(
    {"pods", "count/pods"}
    | set(POD_COMPUTE)
    | {f"requests.{r}" for r in POD_COMPUTE}
    | {f"limits.{r}" for r in POD_COMPUTE}
)
# Quota on these makes every container state its own request/limit (pods.go keeps this "mistake" for
# backward compatibility).
MUST_SPECIFY = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"})


def quantity_or_none(value: object) -> Quantity | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def resource_list(container: Mapping[str, Any], which: str) -> Usage:
    """A container's ``resources.requests`` or ``resources.limits`` as quantities."""
    resources = container.get("resources")
    values = resources.get(which) if isinstance(resources, Mapping) else None
    out: Usage = {}
    if isinstance(values, Mapping):
        for name, raw in values.items():
            q = quantity_or_none(raw)
            if q is not None:
                out[str(name)] = q
    return out


def _extended(name: str) -> bool:
    # IsExtendedResourceName: qualified with a domain that is not kubernetes.io, and not already "requests.".
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


def container_usage(container: Mapping[str, Any]) -> Usage:
    """The quota resources one container states: ``requests.cpu`` and ``cpu``, ``limits.cpu``, extended ones."""
    requests = resource_list(container, "requests")
    limits = resource_list(container, "limits")
    out: Usage = {}
    for r in POD_COMPUTE:
        if r in requests:
            out[f"requests.{r}"] = requests[r]
            out[r] = requests[r]
        if r in limits:
            out[f"limits.{r}"] = limits[r]
    for name, q in requests.items():
        if _extended(name):
            out[f"requests.{name}"] = q  # e.g. example.com/gpu
    return out


def add_usage(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> Usage:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + v if k in out else v
    return out


def max_usage(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> Usage:
    out = dict(a)
    for k, v in b.items():
        if k not in out or out[k] < v:
            out[k] = v
    return out


def pod_spec_compute(pod_spec: Mapping[str, Any]) -> Usage:
    """The compute part of a pod's usage: app containers summed, maxed against each init container."""
    total: Usage = {}
    for c in dicts(pod_spec.get("containers")):
        total = add_usage(total, container_usage(c))
    for c in dicts(pod_spec.get("initContainers")):
        total = max_usage(total, container_usage(c))
    return total


def pod_spec_usage(pod_spec: Mapping[str, Any]) -> Usage:
    """What one running pod with this spec counts against a quota."""
    return {"pods": ONE, "count/pods": ONE, **pod_spec_compute(pod_spec)}


def missing_requirements(pod_spec: Mapping[str, Any], tracked: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """For the tracked resources that must be specified: resource → the containers lacking it (sorted)."""
    required = set(tracked) & MUST_SPECIFY
    missing: dict[str, set[str]] = {}
    for c in dicts(pod_spec.get("containers")) + dicts(pod_spec.get("initContainers")):
        have = set(container_usage(c))
        for r in required - have:
            missing.setdefault(r, set()).add(str(c.get("name", "")))
    return {r: tuple(sorted(missing[r])) for r in sorted(missing)}


def best_effort(pod_spec: Mapping[str, Any]) -> bool:
    """No container states any request or limit (the BestEffort QoS class, as quota scopes use it)."""
    containers = dicts(pod_spec.get("containers")) + dicts(pod_spec.get("initContainers"))
    return not any(resource_list(c, "requests") or resource_list(c, "limits") for c in containers)
