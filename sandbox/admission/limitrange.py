"""LimitRanger admission (``plugin/pkg/admission/limitranger/admission.go``), for pods on CREATE.

``LimitRangerDefaults`` (mutating) fills missing container limits from a LimitRange's ``default`` and
missing requests from ``defaultRequest`` and records what it set in the ``kubernetes.io/limit-ranger``
annotation; ``LimitRangerValidation`` (validating, registered before ResourceQuota) rejects ``min``,
``max`` and ``maxLimitRequestRatio`` violations for type Container and Pod with Kubernetes' messages.
The LimitRange object itself is defaulted (default ← max, defaultRequest ← default/min) by
``sandbox.admission.defaults``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quantities import Quantity, QuantityError, parse_quantity
from sandbox.apiserver import errors
from sandbox.apiserver.storage import Store
from sandbox.hooks import Operation, UserInfo

Obj = dict[str, Any]
ResourceList = dict[str, Quantity]

ANNOTATION = "kubernetes.io/limit-ranger"
# resource.MaxMilliValue: beyond it Kubernetes compares whole units instead of milli-units.
_MAX_MILLI_VALUE = (2**63 - 1) // 1000


def _dicts(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _quantities(values: Any) -> ResourceList:
    out: ResourceList = {}
    if isinstance(values, dict):
        for k, v in values.items():
            try:
                out[str(k)] = parse_quantity(v)
            except (QuantityError, TypeError):
                continue
    return out


def _limit_ranges(store: Store, namespace: str) -> list[Obj]:
    return [e.obj for e in store.entries("limitranges", namespace)]


def _applies(op: Operation, resource: str, obj: Obj | None, old: Obj | None) -> bool:
    # Containers are immutable after create, so Kubernetes skips pod updates; objects being deleted too.
    if resource != "pods" or op != "CREATE" or obj is None:
        return False
    return not (old is not None and (old.get("metadata") or {}).get("deletionTimestamp"))


# -- defaults ---------------------------------------------------------------------------------------


def _defaults(limit_range: Obj) -> tuple[Obj, Obj]:
    """defaultContainerResourceRequirements: (limits, requests) from the Container items."""
    limits: Obj = {}
    requests: Obj = {}
    for item in _dicts((limit_range.get("spec") or {}).get("limits")):
        if item.get("type") != "Container":
            continue
        if isinstance(item.get("default"), dict):
            limits.update(item["default"])
        if isinstance(item.get("defaultRequest"), dict):
            requests.update(item["defaultRequest"])
    return limits, requests


def _merge_container(container: Obj, limits: Obj, requests: Obj, prefix: str, notes: list[str]) -> None:
    resources = container.get("resources")
    if not isinstance(resources, dict):
        resources = container["resources"] = {}
    have_limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    have_requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    assert isinstance(have_limits, dict) and isinstance(have_requests, dict)
    set_limits = sorted(k for k in limits if k not in have_limits)
    set_requests = sorted(k for k in requests if k not in have_requests)
    for k in set_limits:
        have_limits[k] = limits[k]
    for k in set_requests:
        have_requests[k] = requests[k]
    if have_limits:
        resources["limits"] = have_limits
    if have_requests:
        resources["requests"] = have_requests
    name = container.get("name", "")
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {prefix} {name}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {prefix} {name}")


def default_pod_resources(pod: Obj, limit_range: Obj) -> None:
    """mergePodResourceRequirements for one LimitRange, in place."""
    limits, requests = _defaults(limit_range)
    if not limits and not requests:
        return
    spec = pod.get("spec") or {}
    notes: list[str] = []
    for c in _dicts(spec.get("containers")):
        _merge_container(c, limits, requests, "container", notes)
    for c in _dicts(spec.get("initContainers")):
        _merge_container(c, limits, requests, "init container", notes)
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations")
        if not isinstance(annotations, dict):
            annotations = meta["annotations"] = {}
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


class LimitRangerDefaults:
    """Mutating: LimitRanger's Admit."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def admit(
        self, op: Operation, resource: str, obj: Obj | None, old: Obj | None, user: UserInfo
    ) -> None:
        if not _applies(op, resource, obj, old):
            return
        assert obj is not None
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        for lr in _limit_ranges(self.store, namespace):
            default_pod_resources(obj, lr)


# -- validation -------------------------------------------------------------------------------------


def _comparable(*qs: Quantity | None) -> list[int]:
    """requestLimitEnforcedValues: milli-units when none overflows, else whole units (absent = 0)."""
    values = [q.value() if q is not None else 0 for q in qs]
    if all(v <= _MAX_MILLI_VALUE for v in values):
        return [q.milli_value() if q is not None else 0 for q in qs]
    return values


def min_constraint(kind: str, name: str, enforced: Quantity, req: ResourceList, lim: ResourceList) -> str:
    r, limit = req.get(name), lim.get(name)
    observed_req, observed_lim, value = _comparable(r, limit, enforced)
    if r is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if observed_req < value:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {r}"
    if limit is not None and observed_lim < value:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {limit}"
    return ""


def max_constraint(kind: str, name: str, enforced: Quantity, req: ResourceList, lim: ResourceList) -> str:
    r, limit = req.get(name), lim.get(name)
    observed_req, observed_lim, value = _comparable(r, limit, enforced)
    if limit is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if observed_lim > value:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {limit}"
    if r is not None and observed_req > value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {r}"
    return ""


def ratio_constraint(kind: str, name: str, enforced: Quantity, req: ResourceList, lim: ResourceList) -> str:
    r, limit = req.get(name), lim.get(name)
    observed_req, observed_lim, _ = _comparable(r, limit, enforced)
    if r is None or observed_req == 0:
        return (
            f"{name} max limit to request ratio per {kind} is {enforced}, "
            "but no request is specified or request is 0"
        )
    if limit is None or observed_lim == 0:
        return (
            f"{name} max limit to request ratio per {kind} is {enforced}, "
            "but no limit is specified or limit is 0"
        )
    ratio = observed_lim / observed_req
    shown = ratio
    maximum = float(enforced.value())
    if enforced.value() <= _MAX_MILLI_VALUE:
        ratio *= 1000
        maximum = float(enforced.milli_value())
    if ratio > maximum:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {shown:f}"
    return ""


def _check_item(item: Obj, kind: str, req: ResourceList, lim: ResourceList, errs: list[str]) -> None:
    # Go ranges over maps in random order; sorted resource names make the message reproducible.
    for field, check in (
        ("min", min_constraint),
        ("max", max_constraint),
        ("maxLimitRequestRatio", ratio_constraint),
    ):
        enforced = _quantities(item.get(field))
        for name in sorted(enforced):
            msg = check(kind, name, enforced[name], req, lim)
            if msg:
                errs.append(msg)


def _sum(lists: list[ResourceList]) -> ResourceList:
    out: ResourceList = {}
    for rl in lists:
        for k, v in rl.items():
            out[k] = out[k] + v if k in out else v
    return out


def _max_into(total: ResourceList, rl: Mapping[str, Quantity]) -> ResourceList:
    out = dict(total)
    for k, v in rl.items():
        if k not in out or out[k] < v:
            out[k] = v
    return out


def _container_lists(c: Obj) -> tuple[ResourceList, ResourceList]:
    res = c.get("resources") if isinstance(c.get("resources"), dict) else {}
    assert isinstance(res, dict)
    return _quantities(res.get("requests")), _quantities(res.get("limits"))


def pod_limit_errors(pod: Obj, limit_range: Obj) -> list[str]:
    """PodValidateLimitFunc for one LimitRange."""
    spec = pod.get("spec") or {}
    containers = _dicts(spec.get("containers"))
    inits = _dicts(spec.get("initContainers"))
    errs: list[str] = []
    for item in _dicts((limit_range.get("spec") or {}).get("limits")):
        kind = item.get("type")
        if kind == "Container":
            for c in containers + inits:
                req, lim = _container_lists(c)
                _check_item(item, "Container", req, lim, errs)
        elif kind == "Pod":
            pairs = [_container_lists(c) for c in containers]
            pod_req = _sum([p[0] for p in pairs])
            pod_lim = _sum([p[1] for p in pairs])
            for c in inits:
                req, lim = _container_lists(c)
                pod_req = _max_into(pod_req, req)
                pod_lim = _max_into(pod_lim, lim)
            _check_item(item, "Pod", pod_req, pod_lim, errs)
    return errs


def aggregate(errs: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is, several deduplicated in brackets."""
    seen: list[str] = []
    for e in errs:
        if e not in seen:
            seen.append(e)
    if len(errs) == 1 or len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


class LimitRangerValidation:
    """Validating: LimitRanger's Validate (min, max, maxLimitRequestRatio)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def admit(
        self, op: Operation, resource: str, obj: Obj | None, old: Obj | None, user: UserInfo
    ) -> None:
        if not _applies(op, resource, obj, old):
            return
        assert obj is not None
        meta = obj.get("metadata") or {}
        for lr in _limit_ranges(self.store, meta.get("namespace") or ""):
            errs = pod_limit_errors(obj, lr)
            if errs:
                raise errors.forbidden("pods", "", meta.get("name") or "", aggregate(errs))


__all__ = [
    "ANNOTATION",
    "LimitRangerDefaults",
    "LimitRangerValidation",
    "aggregate",
    "default_pod_resources",
    "max_constraint",
    "min_constraint",
    "pod_limit_errors",
    "ratio_constraint",
]
