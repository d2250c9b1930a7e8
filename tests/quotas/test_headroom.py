"""Headroom as pure computation: the seed's numbers, LimitRange defaulting, must-specify, scopes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kube.types import LimitRangeItem
from quantities import parse_quantity
from quotas.headroom import (
    defaults_applied,
    headroom_compute,
    limitrange_item_defaults,
    pod_spec_defaulted,
    pod_usage,
)

COMPUTE_HARD = {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi"}


def quota(name: str, hard: dict[str, str], used: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "mynamespace"},
        "spec": {"hard": hard, **spec},
        "status": {"hard": hard, "used": used or {k: "0" for k in hard}},
    }


def template(resources: dict[str, Any] | None = None, name: str = "k8s-demo") -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": "nginx"}
    if resources is not None:
        container["resources"] = resources
    return {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [container]}}


HELLOWORLD = template(
    {"requests": {"cpu": "200m", "memory": "0.5Gi"}, "limits": {"cpu": "400m", "memory": "1Gi"}}
)
NGINX = template()
LIMITS_QUOTA = {
    "metadata": {"name": "limits-quota"},
    "spec": {
        "limits": [
            {
                "type": "Container",
                "default": {"cpu": "200m", "memory": "512Mi"},
                "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
            }
        ]
    },
}
OBJECT_QUOTA = quota("user-object-quota", {"configmaps": "10", "services": "10"}, {"configmaps": "1"})


def test_helloworld_third_pod_exceeds_memory_with_the_seed_numbers() -> None:
    used = {"requests.cpu": "400m", "requests.memory": "1Gi", "limits.cpu": "800m", "limits.memory": "2Gi"}
    h = headroom_compute(
        namespace="mynamespace",
        pod_template=HELLOWORLD,
        replicas=1,
        limitranges=[],
        quotas=[quota("user-compute-quota", COMPUTE_HARD, used), OBJECT_QUOTA],
    )
    assert not h.fits
    assert h.max_replicas == 0
    compute = next(q for q in h.quotas if q.quota == "user-compute-quota")
    by = {r.resource: r for r in compute.resources}
    assert str(by["requests.memory"].needed) == "512Mi" and str(by["requests.memory"].free) == "0"
    assert by["requests.cpu"].fits and not by["limits.memory"].fits
    assert "user-compute-quota: requests.memory needs 512Mi more, only 0 free (1Gi/1Gi used)" in h.message
    assert "user-compute-quota: limits.memory needs 1Gi more, only 0 free (2Gi/2Gi used)" in h.message
    assert "requests.cpu" not in h.message
    assert not next(q for q in h.quotas if q.quota == "user-object-quota").applies


def test_helloworld_from_empty_namespace_only_two_of_three_fit() -> None:
    h = headroom_compute(
        namespace="mynamespace",
        pod_template=HELLOWORLD,
        replicas=3,
        limitranges=[],
        quotas=[quota("user-compute-quota", COMPUTE_HARD)],
    )
    assert not h.fits and h.max_replicas == 2
    assert "requests.memory needs 1536Mi more, only 1Gi free (0/1Gi used)" in h.message
    assert "2 of 3 would fit" in h.message


def test_nginx_without_resources_must_specify() -> None:
    h = headroom_compute(
        namespace="mynamespace",
        pod_template=NGINX,
        replicas=3,
        limitranges=[],
        quotas=[quota("user-compute-quota", COMPUTE_HARD)],
    )
    assert not h.fits and h.max_replicas == 0
    assert h.missing == {
        "user-compute-quota": {
            "limits.cpu": ("k8s-demo",),
            "limits.memory": ("k8s-demo",),
            "requests.cpu": ("k8s-demo",),
            "requests.memory": ("k8s-demo",),
        }
    }
    assert (
        "user-compute-quota: must specify limits.cpu, limits.memory, requests.cpu, requests.memory "
        "for container k8s-demo"
    ) in h.message


def test_nginx_with_the_preset_limitrange_fits_three_and_reaches_the_seed_totals() -> None:
    h = headroom_compute(
        namespace="mynamespace",
        pod_template=NGINX,
        replicas=3,
        limitranges=[LIMITS_QUOTA],
        quotas=[quota("user-compute-quota", COMPUTE_HARD), OBJECT_QUOTA],
    )
    assert h.fits and h.missing == {}
    assert h.max_replicas == 4  # requests.memory: 1Gi / 256Mi
    needed = {r.resource: str(r.needed) for r in h.quotas[0].resources}
    assert needed == {
        "limits.cpu": "600m",
        "limits.memory": "1536Mi",
        "requests.cpu": "300m",
        "requests.memory": "768Mi",
    }
    assert h.message == "3 more pods fit within user-compute-quota."


def test_limit_without_request_gives_request_equal_to_limit() -> None:
    spec = pod_spec_defaulted(template({"limits": {"cpu": "300m", "memory": "128Mi"}}), [LIMITS_QUOTA])
    resources = spec["containers"][0]["resources"]
    # SetDefaults_Pod runs before LimitRanger: defaultRequest does not override request = limit.
    assert resources["requests"] == {"cpu": "300m", "memory": "128Mi"}
    usage = pod_usage(spec)
    assert usage["requests.cpu"] == parse_quantity("300m") and usage["limits.memory"] == parse_quantity(
        "128Mi"
    )


def test_limitrange_object_defaulting() -> None:
    item = LimitRangeItem(
        type="Container",
        default={},
        default_request={},
        min={"cpu": "50m"},
        max={"memory": "1Gi"},
        max_limit_request_ratio={},
    )
    d = limitrange_item_defaults(item)
    assert d.limits == {"memory": "1Gi"}  # default ← max
    assert d.requests == {"cpu": "50m", "memory": "1Gi"}  # defaultRequest ← default, else ← min
    pod_item = LimitRangeItem("Pod", {}, {}, {}, {"cpu": "2"}, {})
    assert limitrange_item_defaults(pod_item).limits == {}


def test_defaults_applied_names_what_each_container_gets() -> None:
    partial = template({"requests": {"cpu": "50m"}})
    assert defaults_applied(partial, [LIMITS_QUOTA]) == {
        "k8s-demo": {"limits.cpu": "200m", "limits.memory": "512Mi", "requests.memory": "256Mi"}
    }
    assert defaults_applied(HELLOWORLD, [LIMITS_QUOTA]) == {}


def test_first_limitrange_wins_for_a_resource() -> None:
    other = {"metadata": {"name": "z"}, "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}}]}}
    spec = pod_spec_defaulted(NGINX, [LIMITS_QUOTA, other])
    assert spec["containers"][0]["resources"]["limits"]["cpu"] == "200m"


def test_init_containers_max_against_the_sum() -> None:
    t = {
        "spec": {
            "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "1"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "300m"}}},
                {"name": "b", "resources": {"requests": {"cpu": "400m"}}},
            ],
        }
    }
    assert pod_usage(pod_spec_defaulted(t))["requests.cpu"] == parse_quantity("1")


def test_pod_count_quota_and_scopes() -> None:
    pods = quota("pods", {"pods": "5"}, {"pods": "4"})
    best_effort_only = quota("be", {"pods": "0"}, {"pods": "0"}, scopes=["BestEffort"])
    h = headroom_compute(
        namespace="n", pod_template=HELLOWORLD, replicas=2, limitranges=[], quotas=[pods, best_effort_only]
    )
    assert not h.fits and h.max_replicas == 1
    assert "pods: pods needs 2 more, only 1 free (4/5 used)" in h.message
    assert not next(q for q in h.quotas if q.quota == "be").applies  # HELLOWORLD is not BestEffort
    h2 = headroom_compute(
        namespace="n", pod_template=NGINX, replicas=1, limitranges=[], quotas=[best_effort_only]
    )
    assert not h2.fits and "be: pods needs 1 more, only 0 free (0/0 used)" in h2.message


def test_no_quota_means_it_fits_and_replicas_must_not_be_negative() -> None:
    h = headroom_compute(namespace="n", pod_template=NGINX, replicas=10, limitranges=[], quotas=[])
    assert (
        h.fits and h.max_replicas is None and h.message == "10 more pods fit: no ResourceQuota limits them."
    )
    with pytest.raises(ValueError):
        headroom_compute(namespace="n", pod_template=NGINX, replicas=-1, limitranges=[], quotas=[])


@given(
    cpu_m=st.integers(min_value=1, max_value=4000),
    mem_mi=st.integers(min_value=1, max_value=4096),
    used_m=st.integers(min_value=0, max_value=8000),
    hard_m=st.integers(min_value=0, max_value=8000),
    replicas=st.integers(min_value=0, max_value=20),
)
def test_fits_exactly_when_max_replicas_allows(
    cpu_m: int, mem_mi: int, used_m: int, hard_m: int, replicas: int
) -> None:
    t = template({"requests": {"cpu": f"{cpu_m}m", "memory": f"{mem_mi}Mi"}})
    q = quota("q", {"requests.cpu": f"{hard_m}m"}, {"requests.cpu": f"{used_m}m"})
    h = headroom_compute(namespace="n", pod_template=t, replicas=replicas, limitranges=[], quotas=[q])
    assert h.max_replicas is not None
    assert h.fits == (replicas <= h.max_replicas) == (replicas == 0 or used_m + replicas * cpu_m <= hard_m)
    # one pod more than max_replicas never fits
    over = headroom_compute(
        namespace="n", pod_template=t, replicas=h.max_replicas + 1, limitranges=[], quotas=[q]
    )
    assert not over.fits


def test_scope_selector_limits_only_the_pods_it_selects() -> None:
    high_only = quota(
        "high",
        {"pods": "1"},
        {"pods": "1"},
        scopeSelector={
            "matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]
        },
    )
    plain = headroom_compute(
        namespace="n", pod_template=HELLOWORLD, replicas=1, limitranges=[], quotas=[high_only]
    )
    assert plain.fits and not plain.quotas[0].applies
    assert plain.quotas[0].scopes == ("PriorityClass In (high)",)
    urgent = {**HELLOWORLD, "spec": {**HELLOWORLD["spec"], "priorityClassName": "high"}}
    h = headroom_compute(namespace="n", pod_template=urgent, replicas=1, limitranges=[], quotas=[high_only])
    assert not h.fits and "high: pods needs 1 more, only 0 free (1/1 used)" in h.message
    not_best_effort = quota(
        "nbe",
        {"pods": "0"},
        {"pods": "0"},
        scopeSelector={"matchExpressions": [{"scopeName": "BestEffort", "operator": "DoesNotExist"}]},
    )
    assert not headroom_compute(
        namespace="n", pod_template=HELLOWORLD, replicas=1, limitranges=[], quotas=[not_best_effort]
    ).fits
    assert headroom_compute(
        namespace="n", pod_template=NGINX, replicas=1, limitranges=[], quotas=[not_best_effort]
    ).fits
