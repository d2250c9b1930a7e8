"""Detection over the deploy/ manifests themselves (as the API would return them, plus status)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kube.types import DeploymentInfo, ServiceInfo
from rollouts.selectors import BLUE_GREEN, CANARY, duration_parse, rollout_detect, rollout_list

REPO = Path(__file__).resolve().parents[2]


def objects(
    path: Path, ready: dict[str, int] | None = None
) -> tuple[list[ServiceInfo], list[DeploymentInfo]]:
    services, deployments = [], []
    for doc in yaml.safe_load_all(path.read_text()):
        if doc["kind"] == "Service":
            services.append(ServiceInfo.from_obj(doc))
        elif doc["kind"] == "Deployment":
            n = (ready or {}).get(doc["metadata"]["name"], doc["spec"]["replicas"])
            status: dict[str, Any] = {
                "readyReplicas": n,
                "availableReplicas": n,
                "observedGeneration": 1,
                "conditions": [{"type": "Available", "status": "True" if n else "False"}],
            }
            deployments.append(
                DeploymentInfo.from_obj(
                    doc | {"status": status, "metadata": doc["metadata"] | {"generation": 1}}
                )
            )
    return services, deployments


def test_the_blue_green_set_is_detected_with_active_preview_and_who_waits() -> None:
    services, deployments = objects(REPO / "deploy/bluegreen/greet-bluegreen.yaml")
    (rollout,) = rollout_list(cluster="c", services=services, deployments=deployments)
    assert (rollout.strategy, rollout.track_key, rollout.annotated) == (BLUE_GREEN, "app", True)
    assert rollout.active is not None and rollout.active.name == "greet-blue"
    assert rollout.preview is not None and rollout.preview.name == "greet-green"
    assert rollout.scale_down_delay_s == 30
    assert rollout.waiting_for() == "Green is Available and not switched."
    assert rollout.waiting_for(scale_down_due_at=1.0) == ""
    assert rollout.selector_for("green") == {"name": "greet-bg", "app": "green"}


def test_green_not_ready_does_not_wait_for_anyone_and_is_not_fully_available() -> None:
    services, deployments = objects(REPO / "deploy/bluegreen/greet-bluegreen.yaml", {"greet-green": 2})
    (rollout,) = rollout_list(cluster="c", services=services, deployments=deployments)
    assert rollout.preview is not None and not rollout.preview.fully_available
    assert rollout.waiting_for() == ""


def test_the_canary_set_is_detected_with_its_weight() -> None:
    services, deployments = objects(REPO / "deploy/canary/greet-canary.yaml")
    (rollout,) = rollout_list(cluster="c", services=services, deployments=deployments)
    assert (rollout.strategy, rollout.track_key) == (CANARY, "track")
    assert rollout.stable is not None and rollout.stable.name == "greet-stable"
    assert rollout.canary is not None and rollout.canary.name == "greet-canary"
    assert (rollout.total_replicas, rollout.weight) == (4, 25)
    assert "Canary at 25 %" in rollout.waiting_for()


def test_annotations_win_and_detection_works_without_them() -> None:
    services, deployments = objects(REPO / "deploy/bluegreen/greet-bluegreen.yaml")
    bare = ServiceInfo(services[0].ref, services[0].type, services[0].selector, "", (), {})
    found = rollout_detect(cluster="c", service=bare, deployments=deployments)
    assert found is not None and (found.strategy, found.track_key, found.annotated) == (
        BLUE_GREEN,
        "app",
        False,
    )
    forced = ServiceInfo(bare.ref, bare.type, bare.selector, "", (), {"switchyard.io/track-key": "name"})
    stated = rollout_detect(cluster="c", service=forced, deployments=deployments)
    # Annotations win over detection, even when they make a one-track rollout.
    assert stated is not None and (stated.track_key, [t.value for t in stated.tracks]) == (
        "name",
        ["greet-bg"],
    )
    services_c, deployments_c = objects(REPO / "deploy/canary/greet-canary.yaml")
    bare_c = ServiceInfo(services_c[0].ref, "ClusterIP", services_c[0].selector, "", (), {})
    found_c = rollout_detect(cluster="c", service=bare_c, deployments=deployments_c)
    assert found_c is not None and (found_c.strategy, found_c.track_key) == (CANARY, "track")


def test_a_service_in_front_of_one_deployment_is_not_a_rollout() -> None:
    services, deployments = objects(REPO / "deploy/bluegreen/greet-bluegreen.yaml")
    single = ServiceInfo(services[0].ref, "ClusterIP", {"name": "greet-bg", "app": "blue"}, "", (), {})
    assert rollout_detect(cluster="c", service=single, deployments=deployments[:1]) is None


def test_durations() -> None:
    assert [duration_parse(t) for t in ("30s", "2m", "1h30m", "90", "", "soon")] == [
        30,
        120,
        5400,
        90,
        30,
        30,
    ]
