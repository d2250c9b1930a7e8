"""Headroom: would N more pods from this template fit the namespace's ResourceQuotas? Pure computation.

Mirrors what the API server does to each new pod, in Kubernetes' order:
1. `SetDefaults_Pod`: a container limit without a request makes the request equal to the limit;
2. LimitRanger: each LimitRange's type-Container `default` fills missing limits and `defaultRequest`
   missing requests (the LimitRange itself defaulted first: default ← max, defaultRequest ← default ← min);
3. ResourceQuota: quotas tracking cpu/memory refuse a pod whose containers lack them ("must specify");
   otherwise `used + requested ≤ hard` for every tracked resource (the pod evaluator's usage: the sum of
   app containers, maxed against each init container, plus `pods` and `count/pods`).

Inputs are plain dicts (the API's JSON) or kube.types dataclasses; nothing here talks to a cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kube.types import LimitRangeInfo, LimitRangeItem, ResourceQuotaInfo
from quantities import Quantity, parse_quantity
from quantities.pod_usage import (
    POD_RESOURCES,
    Usage,
    best_effort,
    missing_requirements,
)
from quantities.pod_usage import dicts as _dicts
from quantities.pod_usage import pod_spec_usage as pod_usage
from quantities.pod_usage import quantity_or_none as _q

ZERO = parse_quantity(0)


def pod_tracked(resource: str) -> bool:
    """Does a quota on this resource name count pods?"""
    return resource in POD_RESOURCES or (resource.startswith("requests.") and "/" in resource)


def _pod_spec(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """A Deployment's spec.template, a whole Pod, or a bare pod spec: the pod spec."""
    if "containers" in template:
        return template
    spec = template.get("spec")
    return spec if isinstance(spec, Mapping) else {}


# -- LimitRange defaults ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerDefaults:
    """What LimitRanger would fill into a container lacking them."""

    limits: dict[str, str] = field(default_factory=dict)  # from `default`
    requests: dict[str, str] = field(default_factory=dict)  # from `defaultRequest`


def _limitrange_info(lr: LimitRangeInfo | Mapping[str, Any]) -> LimitRangeInfo:
    return lr if isinstance(lr, LimitRangeInfo) else LimitRangeInfo.from_obj(lr)


def limitrange_item_defaults(item: LimitRangeItem) -> ContainerDefaults:
    """SetDefaults_LimitRangeItem for a Container item: default ← max; defaultRequest ← default, else ← min."""
    if item.type != "Container":
        return ContainerDefaults()
    limits = {**item.max, **item.default}
    requests = {**item.min, **limits, **item.default_request}
    return ContainerDefaults(limits=limits, requests=requests)


def container_defaults(limitranges: Iterable[LimitRangeInfo | Mapping[str, Any]]) -> list[ContainerDefaults]:
    """One entry per LimitRange, in the order LimitRanger applies them (each fills only what is missing)."""
    out = []
    for lr in limitranges:
        limits: dict[str, str] = {}
        requests: dict[str, str] = {}
        for item in _limitrange_info(lr).limits:
            d = limitrange_item_defaults(item)
            limits.update(d.limits)
            requests.update(d.requests)
        out.append(ContainerDefaults(limits=limits, requests=requests))
    return out


def pod_spec_defaulted(
    template: Mapping[str, Any], limitranges: Iterable[LimitRangeInfo | Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """A copy of the template's pod spec as the API server would store the pod: requests from limits,
    then the LimitRanges' defaults."""
    spec = copy.deepcopy(dict(_pod_spec(template)))
    defaults = container_defaults(limitranges)
    for container in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        resources = container.get("resources")
        if not isinstance(resources, dict):
            resources = container["resources"] = {}
        limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
        requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
        assert isinstance(limits, dict) and isinstance(requests, dict)
        for name, value in limits.items():
            requests.setdefault(name, value)  # SetDefaults_Pod
        for d in defaults:
            for name, value in d.limits.items():
                limits.setdefault(name, value)
            for name, value in d.requests.items():
                requests.setdefault(name, value)
        if limits:
            resources["limits"] = limits
        if requests:
            resources["requests"] = requests
    return spec


def defaults_applied(
    template: Mapping[str, Any], limitranges: Iterable[LimitRangeInfo | Mapping[str, Any]]
) -> dict[str, dict[str, str]]:
    """Per container, what the LimitRanges would set (`limits.cpu: 200m`…), as the preview shows it."""
    before = pod_spec_defaulted(template)
    after = pod_spec_defaulted(template, list(limitranges))
    out: dict[str, dict[str, str]] = {}
    for old, new in zip(
        _dicts(before.get("containers")) + _dicts(before.get("initContainers")),
        _dicts(after.get("containers")) + _dicts(after.get("initContainers")),
        strict=True,
    ):
        added: dict[str, str] = {}
        for which in ("requests", "limits"):
            had = (old.get("resources") or {}).get(which) or {}
            for name, value in ((new.get("resources") or {}).get(which) or {}).items():
                if name not in had:
                    added[f"{which}.{name}"] = str(value)
        if added:
            out[str(new.get("name", ""))] = dict(sorted(added.items()))
    return out


# -- pod usage --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeTerm:
    """One of a ResourceQuota's scopes: from spec.scopes (operator Exists) or spec.scopeSelector."""

    scope: str  # Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass, …
    operator: str = "Exists"  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        if self.operator == "Exists":
            return self.scope
        if self.operator in ("In", "NotIn"):
            return f"{self.scope} {self.operator} ({', '.join(self.values)})"
        return f"{self.scope} {self.operator}"

    def matches(self, pod_spec: Mapping[str, Any]) -> bool:
        if self.scope == "PriorityClass":
            pc = pod_spec.get("priorityClassName") or ""
            return {
                "Exists": bool(pc),
                "DoesNotExist": not pc,
                "In": pc in self.values,
                "NotIn": pc not in self.values,
            }.get(self.operator, False)
        terminating = pod_spec.get("activeDeadlineSeconds") is not None
        is_best_effort = best_effort(pod_spec)
        matched = {
            "Terminating": terminating,
            "NotTerminating": not terminating,
            "BestEffort": is_best_effort,
            "NotBestEffort": not is_best_effort,
        }.get(self.scope, False)
        return not matched if self.operator == "DoesNotExist" else matched


def quota_scope_terms(quota: ResourceQuotaInfo | Mapping[str, Any]) -> tuple[ScopeTerm, ...]:
    """spec.scopes and spec.scopeSelector's matchExpressions (a parsed ResourceQuotaInfo has scopes only)."""
    if isinstance(quota, ResourceQuotaInfo):
        return tuple(ScopeTerm(s) for s in quota.scopes)
    spec = quota.get("spec") or {}
    terms = [ScopeTerm(str(s)) for s in spec.get("scopes") or [] if isinstance(s, str)]
    selector = spec.get("scopeSelector") or {}
    for expr in _dicts(selector.get("matchExpressions") if isinstance(selector, Mapping) else None):
        values = tuple(str(v) for v in expr.get("values") or [])
        terms.append(ScopeTerm(str(expr.get("scopeName", "")), str(expr.get("operator", "")), values))
    return tuple(terms)


def quota_matches_pod(scopes: Sequence[str | ScopeTerm], pod_spec: Mapping[str, Any]) -> bool:
    """Every scope must match the pod (Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass);
    a plain name is spec.scopes' form (operator Exists)."""
    return all((ScopeTerm(s) if isinstance(s, str) else s).matches(pod_spec) for s in scopes)


# -- headroom ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceHeadroom:
    resource: str
    needed: Quantity  # what the extra pods add
    used: Quantity  # status.used
    hard: Quantity  # status.hard

    @property
    def free(self) -> Quantity:
        left = self.hard - self.used
        return left if left.sign() > 0 else Quantity(ZERO.amount, self.hard.format)

    @property
    def fits(self) -> bool:
        # Admission checks only what the pod requests: an over-used resource it does not use is no bar.
        return self.needed.is_zero() or self.used + self.needed <= self.hard

    @property
    def short(self) -> Quantity:
        """How much more than the free amount the pods need (zero when they fit)."""
        over = self.used + self.needed - self.hard
        return over if over.sign() > 0 else ZERO


@dataclass(frozen=True)
class QuotaHeadroom:
    quota: str
    scopes: tuple[str, ...]
    applies: bool  # False: the quota's scopes do not select these pods
    resources: tuple[ResourceHeadroom, ...]
    missing: dict[str, tuple[str, ...]]  # resource → containers that lack it ("must specify")
    max_replicas: int | None  # how many of these pods fit this quota (None: no limit from it)

    @property
    def fits(self) -> bool:
        return not self.applies or (not self.missing and all(r.fits for r in self.resources))


@dataclass(frozen=True)
class Headroom:
    namespace: str
    replicas: int
    per_pod: Usage  # one pod's usage after defaulting
    quotas: tuple[QuotaHeadroom, ...]
    fits: bool
    message: str
    max_replicas: int | None = None  # how many of these pods would fit all quotas (None: unlimited)

    @property
    def missing(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """quota → resource → containers lacking it, for every quota that would refuse with "must specify"."""
        return {q.quota: q.missing for q in self.quotas if q.applies and q.missing}


def _quota_info(q: ResourceQuotaInfo | Mapping[str, Any]) -> ResourceQuotaInfo:
    return q if isinstance(q, ResourceQuotaInfo) else ResourceQuotaInfo.from_obj(q)


def _max_replicas(rows: Iterable[ResourceHeadroom], per_pod: Usage) -> int | None:
    best: int | None = None
    for row in rows:
        one = per_pod.get(row.resource)
        if one is None or one.sign() <= 0:
            continue
        left = row.hard.amount - row.used.amount
        n = max(0, int(left // one.amount))
        best = n if best is None else min(best, n)
    return best


def _missing_text(missing: Mapping[str, tuple[str, ...]]) -> str:
    by_containers: dict[tuple[str, ...], list[str]] = {}
    for resource, containers in missing.items():
        by_containers.setdefault(containers, []).append(resource)
    parts = []
    for containers, resources in by_containers.items():
        who = ", ".join(containers)
        parts.append(f"{', '.join(resources)} for container{'s' if len(containers) > 1 else ''} {who}")
    return "; ".join(parts)


def headroom_message(quotas: Sequence[QuotaHeadroom], replicas: int, max_replicas: int | None) -> str:
    """Plain language with numbers: what does not fit and by how much, or that everything fits."""
    problems = []
    for q in quotas:
        if not q.applies:
            continue
        if q.missing:
            problems.append(
                f"{q.quota}: must specify {_missing_text(q.missing)} "
                "(set resources in the pod template, or add a LimitRange with defaults)"
            )
            continue
        for r in q.resources:
            if not r.fits:
                problems.append(
                    f"{q.quota}: {r.resource} needs {r.needed} more, only {r.free} free ({r.used}/{r.hard} used)"
                )
    pods = f"{replicas} more pod{'' if replicas == 1 else 's'}"
    if not problems:
        checked = [q.quota for q in quotas if q.applies and q.resources]
        if not checked:
            return f"{pods} fit: no ResourceQuota limits them."
        return f"{pods} fit within {', '.join(checked)}."
    if max_replicas is not None and not any(q.missing for q in quotas if q.applies):
        problems.append(f"{max_replicas} of {replicas} would fit")
    return f"{pods} do not fit: " + "; ".join(problems) + "."


def headroom_compute(
    *,
    namespace: str,
    pod_template: Mapping[str, Any],
    replicas: int,
    limitranges: Iterable[LimitRangeInfo | Mapping[str, Any]],
    quotas: Iterable[ResourceQuotaInfo | Mapping[str, Any]],
) -> Headroom:
    """Would `replicas` more pods from `pod_template` be admitted, given the namespace's LimitRanges and
    ResourceQuotas (their status.hard - status.used)?"""
    if replicas < 0:
        raise ValueError("replicas must be ≥ 0")
    spec = pod_spec_defaulted(pod_template, list(limitranges))
    per_pod = pod_usage(spec)
    rows: list[QuotaHeadroom] = []
    pairs = sorted(((_quota_info(q), quota_scope_terms(q)) for q in quotas), key=lambda p: p[0].ref.name)
    for info, terms in pairs:
        hard = {k: q for k, v in info.hard.items() if pod_tracked(k) and (q := _q(v)) is not None}
        applies = bool(hard) and quota_matches_pod(terms, spec)
        resources = tuple(
            ResourceHeadroom(
                resource=name,
                needed=per_pod.get(name, ZERO) * replicas,
                used=_q(info.used.get(name, "0")) or ZERO,
                hard=limit,
            )
            for name, limit in sorted(hard.items())
        )
        missing = missing_requirements(spec, hard) if applies and replicas > 0 else {}
        rows.append(
            QuotaHeadroom(
                quota=info.ref.name,
                scopes=tuple(t.text for t in terms),
                applies=applies,
                resources=resources if applies else (),
                missing=missing,
                max_replicas=(0 if missing else _max_replicas(resources, per_pod)) if applies else None,
            )
        )
    limits = [q.max_replicas for q in rows if q.applies and q.max_replicas is not None]
    max_replicas = min(limits) if limits else None
    fits = all(q.fits for q in rows)
    return Headroom(
        namespace=namespace,
        replicas=replicas,
        per_pod=per_pod,
        quotas=tuple(rows),
        fits=fits,
        message=headroom_message(rows, replicas, max_replicas),
        max_replicas=max_replicas,
    )
