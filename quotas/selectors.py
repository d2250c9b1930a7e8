"""Reads for the quotas page, from the watch hub's cache only: usage bars, held-back workloads, LimitRanges."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TypeVar

from django.conf import settings

from dashboard.hub import get_hub, informers_ready
from dashboard.selectors import ClusterPage, cluster_status
from kube.types import EventInfo, LimitRangeInfo, NamespaceInfo, ReplicaSetInfo, ResourceQuotaInfo
from kube.watching import Informer
from quantities import Quantity, QuantityError, format_human, parse_quantity
from quotas.headroom import Headroom, defaults_applied, headroom_compute, quota_scope_terms
from quotas.refusals import QuotaRefusal, refusal_parse

ALL_NAMESPACES = ""
# What the quotas page reads; informers for these start when the page first asks for a cluster.
QUOTA_KINDS = ("namespaces", "resourcequotas", "limitranges", "events", "replicasets", "deployments", "pods")

OK, WARNING, FULL = "ok", "warning", "full"


def thresholds() -> tuple[int, int]:
    """(warn, full) percentages: SWITCHYARD_QUOTA_WARN / SWITCHYARD_QUOTA_FULL, default 80 / 100."""
    return (
        int(getattr(settings, "SWITCHYARD_QUOTA_WARN", 80)),
        int(getattr(settings, "SWITCHYARD_QUOTA_FULL", 100)),
    )


def _q(value: str) -> Quantity:
    try:
        return parse_quantity(value)
    except QuantityError:
        return parse_quantity(0)


@dataclass(frozen=True)
class UsageBar:
    """One resource of one quota; the texts are computed once (a page of 100 namespaces has ~1,000 bars)."""

    resource: str
    used: Quantity
    hard: Quantity
    ratio: Fraction  # used / hard (1 when hard is 0: nothing more can be admitted)
    level: str  # OK, WARNING or FULL
    percent: int
    used_text: str  # canonical, as kubectl prints it: 1536Mi
    hard_text: str
    used_human: str  # for people: 1.5 GiB
    hard_human: str

    @property
    def meter_value(self) -> int:
        return min(self.percent, 100)

    @property
    def text(self) -> str:
        """kubectl's words: `limits.cpu 600m/2`."""
        return f"{self.resource} {self.used_text}/{self.hard_text}"


def usage_bar(resource: str, used: str, hard: str, *, warn: int, full: int) -> UsageBar:
    u, h = _q(used), _q(hard)
    # A hard of 0 admits nothing more: the bar is full.
    ratio = Fraction(1) if h.is_zero() else max(Fraction(0), u.amount / h.amount)
    level = FULL if ratio * 100 >= full else WARNING if ratio * 100 >= warn else OK
    return UsageBar(
        resource=resource,
        used=u,
        hard=h,
        ratio=ratio,
        level=level,
        percent=int(ratio * 100),
        used_text=str(u),
        hard_text=str(h),
        used_human=format_human(u, resource),
        hard_human=format_human(h, resource),
    )


@dataclass(frozen=True)
class QuotaUsage:
    name: str
    namespace: str
    scopes: tuple[str, ...]
    bars: tuple[UsageBar, ...]

    @property
    def fullest(self) -> Fraction:
        return max((b.ratio for b in self.bars), default=Fraction(0))


@dataclass(frozen=True)
class NamespaceUsage:
    namespace: str
    quotas: tuple[QuotaUsage, ...]
    warn: int = 80  # the thresholds the levels were computed with (the meters' low / high)
    full: int = 100

    @property
    def fullest(self) -> Fraction:
        return max((q.fullest for q in self.quotas), default=Fraction(0))

    @property
    def fullest_percent(self) -> int:
        return int(self.fullest * 100)


def quota_usage(quota: ResourceQuotaInfo | Mapping[str, Any], *, warn: int, full: int) -> QuotaUsage:
    """One quota's bars; its scopes as words (spec.scopes and spec.scopeSelector: `PriorityClass In (high)`)."""
    info = quota if isinstance(quota, ResourceQuotaInfo) else ResourceQuotaInfo.from_obj(quota)
    bars = tuple(
        usage_bar(name, info.used.get(name, "0"), hard, warn=warn, full=full)
        for name, hard in sorted(info.hard.items())
    )
    scopes = tuple(t.text for t in quota_scope_terms(quota))
    return QuotaUsage(name=info.ref.name, namespace=info.ref.namespace, scopes=scopes, bars=bars)


class UsageMemo:
    """Per-namespace rows kept between requests: a namespace's row is rebuilt only when one of its quotas
    changed (uid and resourceVersion) or the thresholds did. Unchanged rows come back as the same object,
    so the partials can keep their rendered HTML by identity. Thread-safe; keys are (uid, rv) per quota."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[Hashable, NamespaceUsage]] = {}

    def get(self, namespace: str, version: Hashable) -> NamespaceUsage | None:
        with self._lock:
            hit = self._rows.get(namespace)
        return hit[1] if hit is not None and hit[0] == version else None

    def put(self, namespace: str, version: Hashable, row: NamespaceUsage) -> None:
        with self._lock:
            self._rows[namespace] = (version, row)

    def keep_only(self, namespaces: Iterable[str]) -> None:
        """Forget namespaces that no longer have a quota (called with the full list only)."""
        keep = set(namespaces)
        with self._lock:
            self._rows = {ns: hit for ns, hit in self._rows.items() if ns in keep}


def _quota_version(q: ResourceQuotaInfo | Mapping[str, Any]) -> tuple[str, str, str] | None:
    if isinstance(q, ResourceQuotaInfo):
        return None  # a parsed object carries no resourceVersion: never memoized
    meta = q.get("metadata") or {}
    uid, rv = str(meta.get("uid") or ""), str(meta.get("resourceVersion") or "")
    return (str(meta.get("name") or ""), uid, rv) if uid and rv else None


def quota_usage_list(
    *,
    quotas: Iterable[ResourceQuotaInfo | Mapping[str, Any]],
    memo: UsageMemo | None = None,
    complete: bool = False,
) -> list[NamespaceUsage]:
    """Bars per namespace per quota per resource; the fullest namespace first, then by name.

    With a memo, a namespace whose quotas are unchanged since the last call reuses its row; `complete`
    says `quotas` is every namespace's (so the memo may forget the others)."""
    warn, full = thresholds()
    by_ns: dict[str, list[ResourceQuotaInfo | Mapping[str, Any]]] = {}
    for q in quotas:
        ns = (
            q.ref.namespace if isinstance(q, ResourceQuotaInfo) else str(q["metadata"].get("namespace") or "")
        )
        by_ns.setdefault(ns, []).append(q)
    rows = []
    for ns, objs in by_ns.items():
        versions = [_quota_version(o) for o in objs]
        version = (warn, full, tuple(versions)) if memo is not None and None not in versions else None
        row = memo.get(ns, version) if memo is not None and version is not None else None
        if row is None:
            usages = sorted((quota_usage(o, warn=warn, full=full) for o in objs), key=lambda q: q.name)
            row = NamespaceUsage(ns, tuple(usages), warn=warn, full=full)
            if memo is not None and version is not None:
                memo.put(ns, version, row)
        rows.append(row)
    if memo is not None and complete:
        memo.keep_only(by_ns)
    return sorted(rows, key=lambda n: (-n.fullest, n.namespace))


@dataclass(frozen=True)
class HeldBack:
    """A ReplicaSet that created fewer pods than it wants, and why (Kubernetes' message, verbatim)."""

    namespace: str
    replicaset: str
    deployment: str
    desired: int
    created: int
    refusal: QuotaRefusal
    count: int  # how many times the event was seen

    @property
    def message(self) -> str:
        return self.refusal.message

    @property
    def workload(self) -> str:
        return self.deployment or self.replicaset


def _event_key(e: EventInfo) -> tuple[float, int]:
    rv = e.ref.resource_version
    return (e.last_seen.timestamp() if e.last_seen else 0.0, int(rv) if rv.isdigit() else 0)


def held_back_list(
    *, replicasets: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]]
) -> list[HeldBack]:
    """ReplicaSets with created < desired and their latest FailedCreate (else ReplicaFailure) message."""
    latest: dict[tuple[str, str], EventInfo] = {}
    for raw in events:
        if raw.get("reason") != "FailedCreate":
            continue
        e = EventInfo.from_obj(raw)
        if e.involved_kind != "ReplicaSet":
            continue
        key = (e.ref.namespace, e.involved_name)
        if key not in latest or _event_key(latest[key]) < _event_key(e):
            latest[key] = e
    out: list[HeldBack] = []
    for raw in replicasets:
        rs = ReplicaSetInfo.from_obj(raw)
        created = int((raw.get("status") or {}).get("replicas") or 0)
        if created >= rs.desired:
            continue
        event = latest.get((rs.ref.namespace, rs.ref.name))
        failure = next((c for c in rs.conditions if c.type == "ReplicaFailure" and c.true), None)
        if event is not None:
            message, count = event.message, event.count
        elif failure is not None:
            message, count = failure.message, 1
        else:
            continue  # still creating: nothing has refused it
        out.append(
            HeldBack(
                namespace=rs.ref.namespace,
                replicaset=rs.ref.name,
                deployment=rs.owner,
                desired=rs.desired,
                created=created,
                refusal=refusal_parse(message),
                count=count,
            )
        )
    return sorted(out, key=lambda h: (h.namespace, h.workload, h.replicaset))


@dataclass(frozen=True)
class QuotaPage(ClusterPage):
    usage: list[NamespaceUsage] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)
    limitranges: list[LimitRangeInfo] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The cluster-wide line: how many quotas, how many resources near or at their limit."""
        bars = [b for ns in self.usage for q in ns.quotas for b in q.bars]
        quotas = sum(len(ns.quotas) for ns in self.usage)
        full = sum(1 for b in bars if b.level == FULL)
        warning = sum(1 for b in bars if b.level == WARNING)
        where = f"in {self.namespace}" if self.namespace else f"in {len(self.usage)} namespaces"
        held = len(self.held_back)
        return (
            f"{quotas} ResourceQuota{'' if quotas == 1 else 's'} {where}: "
            f"{full} resource{'' if full == 1 else 's'} full, {warning} near the limit; "
            f"{held} workload{'' if held == 1 else 's'} held back."
        )


T = TypeVar("T")


class InformerMemo:
    """Values computed from informer caches, kept while those informers have neither relisted nor seen a
    change: the version is each informer's identity, list count and resourceVersion, read *before* the
    value is computed (a change in between costs one recomputation, never a stale value)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Hashable, tuple[tuple[Any, ...], Any]] = {}

    @staticmethod
    def version(informers: Iterable[Informer]) -> tuple[Any, ...] | None:
        out: list[Any] = []
        for informer in informers:
            state = informer.state()
            if not state.synced or not state.resource_version:
                return None
            out.append((informer, state.list_calls, state.resource_version))
        return tuple(out)

    def get(self, key: Hashable, informers: Iterable[Informer], compute: Callable[[], T]) -> T:
        version = self.version(informers)
        if version is not None:
            with self._lock:
                hit = self._values.get(key)
            if hit is not None and hit[0] == version:
                value: T = hit[1]
                return value
        value = compute()
        if version is not None:
            with self._lock:
                if len(self._values) > 256:  # one entry per (cluster, kind of value, scope) in practice
                    self._values.clear()
                self._values[key] = (version, value)
        return value


_memo = InformerMemo()
_usage_memos: dict[str, UsageMemo] = {}
_usage_memos_lock = threading.Lock()


def memo_clear() -> None:
    """Forget every memoized piece (the bench's cold measurement; tests)."""
    global _memo
    with _usage_memos_lock:
        _usage_memos.clear()
        _memo = InformerMemo()


def _usage_memo(cluster: str) -> UsageMemo:
    with _usage_memos_lock:
        return _usage_memos.setdefault(cluster, UsageMemo())


def quota_page_get(*, cluster: str | None, namespace: str | None, wait: float = 3.0) -> QuotaPage:
    """The quotas page of one cluster (namespace None or "": all namespaces), from the hub's cache."""
    view = informers_ready(cluster, QUOTA_KINDS, wait=wait)
    if view is None:
        return QuotaPage.without_cluster()
    chosen, informers = view.cluster, view.informers
    namespace = namespace or ALL_NAMESPACES
    scope = namespace or None
    # Each piece is recomputed only when an informer it reads has changed since the last request.
    namespaces = list(
        _memo.get(
            (chosen, "namespaces"),
            [informers["namespaces"]],
            lambda: sorted(n.name for n in map(NamespaceInfo.from_obj, informers["namespaces"].items())),
        )
    )
    if namespace and namespace not in namespaces:
        namespaces.append(namespace)
    quotas = informers["resourcequotas"]
    usage = _memo.get(
        (chosen, "usage", scope, thresholds()),
        [quotas],
        lambda: quota_usage_list(
            quotas=quotas.items(scope), memo=_usage_memo(chosen), complete=scope is None
        ),
    )
    held_back = _memo.get(
        (chosen, "held_back", scope),
        [informers["replicasets"], informers["events"]],
        lambda: held_back_list(
            replicasets=informers["replicasets"].items(scope), events=informers["events"].items(scope)
        ),
    )
    limitranges = (
        _memo.get(
            (chosen, "limitranges", scope),
            [informers["limitranges"]],
            lambda: [LimitRangeInfo.from_obj(o) for o in informers["limitranges"].items(scope)],
        )
        if namespace
        else []
    )
    return QuotaPage(
        cluster=chosen,
        namespace=namespace,
        clusters=view.clusters,
        namespaces=namespaces,
        status=cluster_status(list(informers.values())),
        usage=list(usage),
        held_back=list(held_back),
        limitranges=list(limitranges),
    )


@dataclass(frozen=True)
class PreviewRow:
    """One workload under a proposed LimitRange: the defaults its new pods get, and (if held back) whether
    the pods it still wants would then be admitted."""

    deployment: str
    held_back: HeldBack | None
    defaults: dict[str, dict[str, str]]  # container → {"requests.cpu": "100m", …}
    headroom: Headroom | None  # for held-back workloads only


def limitrange_preview(
    *, cluster: str, namespace: str, name: str, spec: Mapping[str, Any], wait: float = 3.0
) -> list[PreviewRow]:
    """What applying `spec` as LimitRange `name` would do to the namespace's Deployments (from the cache).

    LimitRanger applies every LimitRange in the namespace, so the others stay in the picture; a LimitRange
    changes only pods created after it, so running pods keep what they have."""
    page = quota_page_get(cluster=cluster, namespace=namespace, wait=wait)
    hub = get_hub()
    proposed: list[Mapping[str, Any]] = [
        o for o in hub.informer(page.cluster, "limitranges").items(namespace) if o["metadata"]["name"] != name
    ]
    proposed.append({"metadata": {"name": name, "namespace": namespace}, "spec": dict(spec)})
    proposed.sort(key=lambda o: str(o["metadata"]["name"]))
    quotas = hub.informer(page.cluster, "resourcequotas").items(namespace)
    held = {h.workload: h for h in page.held_back}
    rows = []
    for obj in hub.informer(page.cluster, "deployments").items(namespace):
        deployment = str(obj["metadata"]["name"])
        template = (obj.get("spec") or {}).get("template") or {}
        h = held.get(deployment)
        rows.append(
            PreviewRow(
                deployment=deployment,
                held_back=h,
                defaults=defaults_applied(template, proposed),
                headroom=headroom_compute(
                    namespace=namespace,
                    pod_template=template,
                    replicas=h.desired - h.created,
                    limitranges=proposed,
                    quotas=quotas,
                )
                if h is not None
                else None,
            )
        )
    return sorted(rows, key=lambda r: (r.held_back is None, r.deployment))
