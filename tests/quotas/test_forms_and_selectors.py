"""The LimitRange form's checks and the usage bars' arithmetic, without a cluster."""

from __future__ import annotations

from typing import Any

from dashboard.selectors import ClusterStatus
from quotas.forms import PRESETS, LimitRangeForm
from quotas.partials import NamespaceFragments
from quotas.selectors import FULL, OK, WARNING, QuotaPage, UsageMemo, held_back_list, quota_usage_list

BASE = {"cluster": "c", "namespace": "n", "name": "limits-quota", "type": "Container"}


def form(**values: str) -> LimitRangeForm:
    f = LimitRangeForm(data={**BASE, **values})
    f.is_valid()
    return f


def test_preset_is_valid_and_builds_the_seed_spec() -> None:
    f = form(**PRESETS["limits-quota"])
    assert f.is_valid(), f.errors
    assert f.spec() == {
        "limits": [
            {
                "type": "Container",
                "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
                "default": {"cpu": "200m", "memory": "512Mi"},
            }
        ]
    }


def test_bad_quantity_is_refused_on_its_field() -> None:
    f = form(default_memory="12XB", default_cpu="200m")
    assert not f.is_valid()
    assert list(f.errors) == ["default_memory"]
    assert "default memory: '12XB' is not a quantity" in f.errors["default_memory"][0]


def test_order_min_default_request_default_max() -> None:
    f = form(default_request_cpu="300m", default_cpu="200m")
    assert list(f.errors) == ["default_request_cpu"]
    assert "defaultRequest cpu 300m must be ≤ default cpu 200m" in f.errors["default_request_cpu"][0]
    f = form(min_memory="1Gi", max_memory="512Mi")
    assert list(f.errors) == ["min_memory"]
    f = form(default_cpu="2", max_cpu="1")
    assert list(f.errors) == ["default_cpu"]
    f = form(min_cpu="100m", default_request_cpu="50m")
    assert list(f.errors) == ["default_request_cpu"]
    assert form(min_cpu="100m", default_request_cpu="100m", default_cpu="200m", max_cpu="200m").is_valid()


def test_ratio_pod_type_name_and_empty() -> None:
    f = form(ratio_cpu="0.5")
    assert list(f.errors) == ["ratio_cpu"] and "ratio 500m is less than 1" in f.errors["ratio_cpu"][0]
    f = form(type="Pod", default_cpu="1", max_cpu="2")
    assert list(f.errors) == ["default_cpu"]
    assert "may not be specified when `type` is 'Pod'" in f.errors["default_cpu"][0]
    assert "name" in form(name="Bad_Name", default_cpu="1").errors
    assert form().errors == {"__all__": ["Set at least one value."]}
    assert "min_cpu" in form(min_cpu="-1").errors


def quota(ns: str, name: str, hard: dict[str, str], used: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"hard": hard},
        "status": {"hard": hard, "used": used},
    }


def test_bars_levels_sorting_and_human_text(settings: Any) -> None:
    settings.SWITCHYARD_QUOTA_WARN = 75
    settings.SWITCHYARD_QUOTA_FULL = 100
    rows = quota_usage_list(
        quotas=[
            quota("calm", "q", {"requests.cpu": "1"}, {"requests.cpu": "100m"}),
            quota(
                "busy",
                "q",
                {"requests.memory": "1Gi", "pods": "4"},
                {"requests.memory": "768Mi", "pods": "4"},
            ),
            quota("mid", "q", {"limits.memory": "2Gi"}, {"limits.memory": "1536Mi"}),
        ]
    )
    assert [r.namespace for r in rows] == ["busy", "mid", "calm"]
    busy = {b.resource: b for b in rows[0].quotas[0].bars}
    assert (busy["pods"].level, busy["pods"].percent) == (FULL, 100)
    assert (busy["requests.memory"].level, busy["requests.memory"].text) == (
        WARNING,
        "requests.memory 768Mi/1Gi",
    )
    assert busy["requests.memory"].used_human == "768 MiB" and busy["requests.memory"].hard_human == "1 GiB"
    mid = rows[1].quotas[0].bars[0]
    assert mid.level == WARNING and mid.percent == 75 and mid.used_human == "1.5 GiB"
    calm = rows[2].quotas[0].bars[0]
    assert calm.level == OK and calm.used_human == "100m CPU" and calm.hard_human == "1 CPU"
    settings.SWITCHYARD_QUOTA_WARN = 80
    assert (
        quota_usage_list(quotas=[quota("mid", "q", {"limits.memory": "2Gi"}, {"limits.memory": "1536Mi"})])[0]
        .quotas[0]
        .bars[0]
        .level
        == OK
    )


def _event(rs: str, message: str, rv: str, when: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{rs}.{rv}", "namespace": "n", "resourceVersion": rv},
        "involvedObject": {"kind": "ReplicaSet", "name": rs, "namespace": "n"},
        "reason": "FailedCreate",
        "type": "Warning",
        "message": message,
        "lastTimestamp": when,
        "count": 3,
    }


def test_held_back_takes_the_latest_failed_create() -> None:
    rs = {
        "metadata": {
            "name": "web-1",
            "namespace": "n",
            "ownerReferences": [{"kind": "Deployment", "name": "web"}],
        },
        "spec": {"replicas": 3},
        "status": {"replicas": 2},
    }
    full = {
        "metadata": {"name": "ok-1", "namespace": "n"},
        "spec": {"replicas": 1},
        "status": {"replicas": 1},
    }
    events = [
        _event("web-1", "failed quota: q: must specify limits.cpu for: c", "10", "2024-05-01T10:00:00Z"),
        _event(
            "web-1",
            "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2",
            "12",
            "2024-05-01T10:00:05Z",
        ),
        _event(
            "ok-1",
            "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2",
            "13",
            "2024-05-01T10:00:05Z",
        ),
    ]
    (held,) = held_back_list(replicasets=[rs, full], events=events)
    assert (held.workload, held.created, held.desired, held.refusal.kind) == ("web", 2, 3, "exceeded")
    assert held.message.startswith("exceeded quota: q, requested: pods=1")


def _versioned(ns: str, name: str, used: str, *, uid: str, rv: str) -> dict[str, Any]:
    obj = quota(ns, name, {"requests.cpu": "1"}, {"requests.cpu": used})
    obj["metadata"] |= {"uid": uid, "resourceVersion": rv}
    return obj


def test_usage_memo_rebuilds_only_the_namespace_that_changed(settings: Any) -> None:
    settings.SWITCHYARD_QUOTA_WARN, settings.SWITCHYARD_QUOTA_FULL = 80, 100
    memo = UsageMemo()
    a1, b1 = _versioned("a", "q", "100m", uid="u-a", rv="5"), _versioned("b", "q", "200m", uid="u-b", rv="6")
    first = {r.namespace: r for r in quota_usage_list(quotas=[a1, b1], memo=memo, complete=True)}
    # b's quota moved (a new resourceVersion): only b's row is rebuilt, a's comes back as the same object.
    b2 = _versioned("b", "q", "900m", uid="u-b", rv="7")
    second = {r.namespace: r for r in quota_usage_list(quotas=[a1, b2], memo=memo, complete=True)}
    assert second["a"] is first["a"]
    assert second["b"] is not first["b"] and second["b"].quotas[0].bars[0].used_text == "900m"
    assert second["b"].quotas[0].bars[0].level == WARNING
    # A quota deleted and created again with the same name and resourceVersion is a new object (uid).
    again = _versioned("a", "q", "950m", uid="u-a2", rv="5")
    third = {r.namespace: r for r in quota_usage_list(quotas=[again, b2], memo=memo, complete=True)}
    assert third["a"].quotas[0].bars[0].used_text == "950m" and third["b"] is second["b"]
    # New thresholds rebuild every row, and the meters carry them.
    settings.SWITCHYARD_QUOTA_WARN = 95
    fourth = {r.namespace: r for r in quota_usage_list(quotas=[again, b2], memo=memo, complete=True)}
    assert fourth["b"] is not second["b"] and fourth["b"].quotas[0].bars[0].level == OK
    assert (fourth["b"].warn, fourth["b"].full) == (95, 100)
    # Objects without a resourceVersion are never memoized.
    plain = quota("c", "q", {"pods": "2"}, {"pods": "1"})
    one, two = (quota_usage_list(quotas=[plain], memo=memo)[0] for _ in range(2))
    assert one is not two and one == two


def test_rendered_articles_follow_their_rows(settings: Any) -> None:
    settings.SWITCHYARD_QUOTA_WARN, settings.SWITCHYARD_QUOTA_FULL = 70, 100
    fragments = NamespaceFragments()
    memo = UsageMemo()
    (row,) = quota_usage_list(quotas=[_versioned("a", "q", "100m", uid="u", rv="1")], memo=memo)
    html = fragments.render(cluster="c", row=row, linked=True)
    assert 'data-resource="requests.cpu" data-used="100m" data-hard="1"' in html
    assert 'low="70" high="100"' in html and 'href="?cluster=c&amp;namespace=a"' in html
    assert fragments.render(cluster="c", row=row, linked=False).count("href=") == 0
    (moved,) = quota_usage_list(quotas=[_versioned("a", "q", "850m", uid="u", rv="2")], memo=memo)
    assert 'data-used="850m"' in fragments.render(cluster="c", row=moved, linked=True)
    assert "near limit" in fragments.render(cluster="c", row=moved, linked=True)


def test_scopes_and_the_summary_line() -> None:
    scoped = quota("a", "be", {"pods": "2"}, {"pods": "2"})
    scoped["spec"]["scopes"] = ["BestEffort"]
    selected = quota("b", "high", {"requests.cpu": "1"}, {"requests.cpu": "900m"})
    selected["spec"]["scopeSelector"] = {
        "matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high", "critical"]}]
    }
    rows = quota_usage_list(quotas=[scoped, selected, quota("c", "q", {"pods": "9"}, {"pods": "1"})])
    assert [(r.namespace, r.quotas[0].scopes) for r in rows] == [
        ("a", ("BestEffort",)),
        ("b", ("PriorityClass In (high, critical)",)),
        ("c", ()),
    ]
    html = NamespaceFragments().render(cluster="x", row=rows[1], linked=False)
    assert '<small class="scopes">scopes: PriorityClass In (high, critical)</small>' in html
    status = ClusterStatus(True, True, None, None, "")
    page = QuotaPage(
        cluster="x", namespace="", clusters=["x"], namespaces=["a", "b", "c"], status=status, usage=rows
    )
    assert page.summary == (
        "3 ResourceQuotas in 3 namespaces: 1 resource full, 1 near the limit; 0 workloads held back."
    )
