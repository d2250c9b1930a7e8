from __future__ import annotations

from quantities import parse_quantity
from quantities.pod_usage import best_effort, missing_requirements, pod_spec_usage


def container(
    name: str, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None
) -> dict:
    return {"name": name, "image": "nginx", "resources": {"requests": requests or {}, "limits": limits or {}}}


def test_app_containers_sum_and_init_containers_max() -> None:
    spec = {
        "containers": [
            container("a", {"cpu": "100m", "memory": "256Mi"}, {"cpu": "200m"}),
            container("b", {"cpu": "150m"}),
        ],
        "initContainers": [container("init", {"cpu": "500m", "memory": "64Mi"})],
    }
    usage = pod_spec_usage(spec)
    assert str(usage["requests.cpu"]) == "500m"  # the init container's 500m beats 100m + 150m
    assert usage["cpu"] == usage["requests.cpu"]
    assert str(usage["requests.memory"]) == "256Mi"
    assert str(usage["limits.cpu"]) == "200m"
    assert usage["pods"] == parse_quantity(1) and usage["count/pods"] == parse_quantity(1)


def test_extended_resources_count_as_requests_but_kubernetes_io_names_do_not() -> None:
    spec = {"containers": [container("gpu", {"example.com/gpu": "2", "kubernetes.io/other": "1"})]}
    usage = pod_spec_usage(spec)
    assert str(usage["requests.example.com/gpu"]) == "2"
    assert not any("kubernetes.io" in k for k in usage)


def test_missing_requirements_name_each_container_sorted() -> None:
    spec = {"containers": [container("web"), container("app", {"cpu": "1"}, {"cpu": "1"})]}
    missing = missing_requirements(spec, ["requests.cpu", "limits.memory", "pods"])
    assert missing == {"limits.memory": ("app", "web"), "requests.cpu": ("web",)}


def test_malformed_values_are_skipped_and_best_effort_is_no_resources_at_all() -> None:
    spec = {"containers": [{"name": "x", "resources": {"requests": {"cpu": "lots", "memory": ["1Gi"]}}}]}
    assert "requests.cpu" not in pod_spec_usage(spec)
    assert best_effort(spec)
    assert not best_effort({"containers": [container("y", {"cpu": "1m"})]})
