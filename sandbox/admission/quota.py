"""ResourceQuota admission: Kubernetes' quota evaluators and its validating plug-in.

Follows ``apiserver/pkg/admission/plugin/resourcequota/controller.go`` and the evaluators in
``pkg/quota/v1/evaluator/core``: a pod counts against ``pods`` (while not terminal), ``count/pods`` and the
compute resources of its containers (sum of the app containers, maxed against each init container);
a Service against ``services``, ``services.loadbalancers`` and ``services.nodeports``; any other object
against ``count/<resource>[.<group>]`` and, for configmaps, secrets, replicationcontrollers and
resourcequotas, its legacy name.

Usage is measured from the store's live objects at admission time (the quota status controller shows the
same numbers), plus a reservation for every create admitted but not yet committed, so two concurrent
creates never both slip under a limit. Dry-run requests are checked but reserve nothing.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from quantities import Quantity, parse_quantity
from quantities.pod_usage import (
    MUST_SPECIFY,
    POD_RESOURCES,
    Usage,
    add_usage,
    best_effort,
    dicts,
    missing_requirements,
    pod_spec_compute,
)
from quantities.pod_usage import quantity_or_none as _q
from sandbox.apiserver import errors, resources
from sandbox.apiserver.storage import Store
from sandbox.hooks import Operation, UserInfo

Obj = dict[str, Any]

ONE = parse_quantity(1)
ZERO = parse_quantity(0)

_LEGACY_COUNTS = {
    "configmaps": "configmaps",
    "secrets": "secrets",
    "replicationcontrollers": "replicationcontrollers",
    "resourcequotas": "resourcequotas",
}
_SERVICE_RESOURCES = frozenset({"services", "count/services", "services.loadbalancers", "services.nodeports"})
_PVC_RESOURCES = frozenset({"persistentvolumeclaims", "count/persistentvolumeclaims", "requests.storage"})
_POD_SCOPES = frozenset({"Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass"})


def pod_is_terminal(pod: Obj) -> bool:
    """QuotaV1Pod's negation: Succeeded/Failed, or deleted and past its grace period."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        return True
    meta = pod.get("metadata") or {}
    deleted = meta.get("deletionTimestamp")
    if deleted and meta.get("deletionGracePeriodSeconds") is not None:
        try:
            when = datetime.datetime.strptime(str(deleted), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        except ValueError:
            return False
        return datetime.datetime.now(datetime.UTC) > when
    return False


def pod_usage(pod: Obj) -> Usage:
    usage: Usage = {"count/pods": ONE}
    if pod_is_terminal(pod):
        return usage
    usage["pods"] = ONE
    usage.update(pod_spec_compute(pod.get("spec") or {}))
    return usage


def service_usage(svc: Obj) -> Usage:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    usage: Usage = {"services": ONE, "count/services": ONE}
    ports = dicts(spec.get("ports"))
    if kind == "LoadBalancer":
        usage["services.loadbalancers"] = ONE
        if spec.get("allocateLoadBalancerNodePorts", True) is not False:
            usage["services.nodeports"] = parse_quantity(len(ports))
    elif kind == "NodePort":
        usage["services.nodeports"] = parse_quantity(len(ports))
    return usage


def object_usage(resource: str, obj: Obj) -> Usage:
    """What one object of `resource` (a plural) is charged in a quota."""
    if resource == "pods":
        return pod_usage(obj)
    if resource == "services":
        return service_usage(obj)
    rt = resources.resource(resource)
    usage: Usage = {f"count/{rt.qualified}": ONE}
    if resource in _LEGACY_COUNTS:
        usage[_LEGACY_COUNTS[resource]] = ONE
    return usage


def _stored(plural: str) -> bool:
    return any(rt.plural == plural and rt.stored for rt in resources.RESOURCES)


def resource_for(quota_resource: str) -> str | None:
    """The stored plural a quota resource name is measured from (None: nothing the sandbox stores)."""
    if quota_resource in POD_RESOURCES or (quota_resource.startswith("requests.") and "/" in quota_resource):
        return "pods"
    if quota_resource in _SERVICE_RESOURCES:
        return "services"
    if quota_resource in _LEGACY_COUNTS:
        return _LEGACY_COUNTS[quota_resource] if _stored(_LEGACY_COUNTS[quota_resource]) else None
    if quota_resource.startswith("count/"):
        qualified = quota_resource[len("count/") :]
        for rt in resources.RESOURCES:
            if rt.qualified == qualified and rt.namespaced and rt.stored:
                return rt.plural
    return None


def matching_resources(resource: str, hard: Iterable[str]) -> list[str]:
    return sorted(name for name in hard if resource_for(name) == resource)


# -- scopes -----------------------------------------------------------------------------------------


def _is_best_effort(pod: Obj) -> bool:
    return best_effort(pod.get("spec") or {})


def quota_scopes(quota: Obj) -> list[tuple[str, str, list[str]]]:
    """(scopeName, operator, values) from spec.scopes and spec.scopeSelector."""
    spec = quota.get("spec") or {}
    out: list[tuple[str, str, list[str]]] = [
        (str(s), "Exists", []) for s in spec.get("scopes") or [] if isinstance(s, str)
    ]
    selector = spec.get("scopeSelector") or {}
    for expr in dicts(selector.get("matchExpressions") if isinstance(selector, dict) else None):
        values = [str(v) for v in expr.get("values") or []]
        out.append((str(expr.get("scopeName", "")), str(expr.get("operator", "")), values))
    return out


def _pod_scope_matches(scope: str, operator: str, values: list[str], pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    if scope == "PriorityClass":
        pc = spec.get("priorityClassName")
        if operator == "Exists":
            return bool(pc)
        if operator == "DoesNotExist":
            return not pc
        if operator == "In":
            return pc in values
        if operator == "NotIn":
            return pc not in values
        return False
    terminating = spec.get("activeDeadlineSeconds") is not None
    best_effort = _is_best_effort(pod)
    matched = {
        "Terminating": terminating,
        "NotTerminating": not terminating,
        "BestEffort": best_effort,
        "NotBestEffort": not best_effort,
    }.get(scope, False)
    return (not matched) if operator == "DoesNotExist" else matched


def quota_matches_object(quota: Obj, resource: str, obj: Obj) -> bool:
    """generic.Matches' scope half: every scope must match; only pods support scopes."""
    for scope, operator, values in quota_scopes(quota):
        if resource != "pods" or scope not in _POD_SCOPES:
            return False
        if not _pod_scope_matches(scope, operator, values, obj):
            return False
    return True


def quota_hard(quota: Obj) -> dict[str, Quantity]:
    # spec.hard, which the status controller mirrors into status.hard within milliseconds.
    hard = (quota.get("spec") or {}).get("hard") or {}
    out: dict[str, Quantity] = {}
    if isinstance(hard, dict):
        for k, v in hard.items():
            q = _q(v)
            if q is not None:
                out[str(k)] = q
    return out


def pretty(usage: Mapping[str, Quantity]) -> str:
    return ",".join(f"{k}={usage[k]}" for k in sorted(usage))


# -- usage of a namespace ---------------------------------------------------------------------------


@dataclass
class _Reservation:
    resource: str
    namespace: str
    name: str
    uid: str
    obj: Obj
    checks: int = 0


class QuotaLedger:
    """Live usage per namespace plus reservations of admitted creates that have not committed yet."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._reserved: dict[str, _Reservation] = {}

    def _pending(self, resource: str, namespace: str) -> list[_Reservation]:
        return [r for r in self._reserved.values() if r.resource == resource and r.namespace == namespace]

    def used(self, quota: Obj, resource_names: Iterable[str], *, pending: bool = True) -> Usage:
        """Usage of `resource_names` in the quota's namespace (every name present, zero if unused)."""
        namespace = (quota.get("metadata") or {}).get("namespace") or ""
        names = list(resource_names)
        out: Usage = {n: ZERO for n in names}
        by_resource: dict[str, list[str]] = {}
        for n in names:
            res = resource_for(n)
            if res is not None:
                by_resource.setdefault(res, []).append(n)
        for res, wanted in by_resource.items():
            objs = [e.obj for e in self.store.entries(res, namespace)]
            if pending:
                live = {(o.get("metadata") or {}).get("uid") for o in objs}
                objs += [r.obj for r in self._pending(res, namespace) if r.uid not in live]
            for obj in objs:
                if not quota_matches_object(quota, res, obj):
                    continue
                usage = object_usage(res, obj)
                for n in wanted:
                    if n in usage:
                        out[n] = out[n] + usage[n]
        return out

    def reserve(self, resource: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        r = _Reservation(
            resource, meta.get("namespace") or "", meta.get("name") or "", meta.get("uid") or "", obj
        )
        self._reserved[r.uid] = r
        # The store commits in the same event-loop step in which the validating chain returns; the
        # reservation is dropped once the object is live, or once the create has visibly failed.
        asyncio.get_running_loop().call_soon(self._settle, r.uid)

    def _settle(self, uid: str) -> None:
        r = self._reserved.get(uid)
        if r is None:
            return
        try:
            self.store.entry(r.resource, r.namespace, r.name)
            found = True
        except errors.APIError:
            found = False
        r.checks += 1
        if found or r.checks > 20:
            # Live (ours), or another object took the name (AlreadyExists), or it never came.
            del self._reserved[uid]
            return
        asyncio.get_running_loop().call_later(0.05, self._settle, uid)


class ResourceQuotaAdmission:
    """The validating ResourceQuota plug-in."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ledger = QuotaLedger(store)

    async def admit(
        self, op: Operation, resource: str, obj: Obj | None, old: Obj | None, user: UserInfo
    ) -> None:
        if obj is None or op == "DELETE":
            return
        rt = resources.resource(resource)
        if not rt.namespaced:
            return
        if op == "UPDATE" and resource != "services":
            return  # the pod and object-count evaluators handle CREATE only
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        quotas = [e.obj for e in self.store.entries("resourcequotas", namespace)]
        if not quotas:
            return
        # No await below: the check and the reservation happen in one step of the event loop.
        self._check(op, rt, obj, old, quotas)

    def _check(
        self, op: Operation, rt: resources.ResourceType, obj: Obj, old: Obj | None, quotas: list[Obj]
    ) -> None:
        name = (obj.get("metadata") or {}).get("name") or ""

        def forbid(why: str) -> errors.APIError:
            return errors.forbidden(rt.plural, rt.group, name, why)

        interesting: list[tuple[Obj, dict[str, Quantity]]] = []
        for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
            hard = quota_hard(quota)
            restricted = matching_resources(rt.plural, hard)
            if not restricted or not quota_matches_object(quota, rt.plural, obj):
                continue
            if rt.plural == "pods":
                missing = _missing_requirements(obj, set(restricted) & MUST_SPECIFY)
                if missing:
                    raise forbid(f"failed quota: {quota['metadata']['name']}: must specify {missing}")
            interesting.append((quota, hard))
        if not interesting:
            return
        delta = object_usage(rt.plural, obj)
        negative = sorted(k for k, v in delta.items() if v.sign() < 0)
        if negative:
            raise forbid(f"quota usage is negative for resource(s): {', '.join(negative)}")
        if op == "UPDATE" and old is not None:
            before = object_usage(rt.plural, old)
            delta = {k: max(v - before.get(k, ZERO), ZERO) for k, v in delta.items()}
        delta = {k: v for k, v in delta.items() if not v.is_zero()}
        if not delta:
            return
        for quota, hard in interesting:
            requested = {k: v for k, v in delta.items() if k in hard}
            if not requested:
                continue
            used = self.ledger.used(quota, requested)
            exceeded = sorted(k for k, v in requested.items() if hard[k] < used[k] + v)
            if exceeded:
                raise forbid(
                    f"exceeded quota: {quota['metadata']['name']}, "
                    f"requested: {pretty({k: requested[k] for k in exceeded})}, "
                    f"used: {pretty({k: used[k] for k in exceeded})}, "
                    f"limited: {pretty({k: hard[k] for k in exceeded})}"
                )
        if op == "CREATE" and not self.store.dry_run_active:
            self.ledger.reserve(rt.plural, obj)


def _missing_requirements(pod: Obj, required: set[str]) -> str:
    """The text after ``must specify`` (Constraints in pods.go), "" when nothing is missing."""
    if not required:
        return ""
    missing = missing_requirements(pod.get("spec") or {}, required)
    return "; ".join(f"{r} for: {','.join(names)}" for r, names in missing.items())


def register_admission(store: Store) -> None:
    """LimitRanger (mutating defaults, then validating min/max/ratio) and ResourceQuota, in Kubernetes'
    order: LimitRanger's defaults must be in place before quota measures a pod."""
    from sandbox.admission.limitrange import LimitRangerDefaults, LimitRangerValidation

    store.add_admission(LimitRangerDefaults(store))
    store.add_admission(LimitRangerValidation(store), validating=True)
    store.add_admission(ResourceQuotaAdmission(store), validating=True)


__all__ = [
    "QuotaLedger",
    "ResourceQuotaAdmission",
    "add_usage",
    "matching_resources",
    "object_usage",
    "pod_usage",
    "pretty",
    "quota_hard",
    "quota_matches_object",
    "register_admission",
    "resource_for",
]
