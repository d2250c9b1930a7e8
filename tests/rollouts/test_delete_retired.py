"""Deleting the retired Deployment (the seed's last step) against the sandbox: after promote only, with
the loaded uid/resourceVersion as preconditions, audited, an Event on the Service, operators only."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from kube.clusters import Cluster
from kube.watching import WatchHub
from rollouts import services
from rollouts.models import RolloutAction, ScheduledStep
from rollouts.selectors import Rollout
from rollouts.services import Actor
from tests.kube.conftest import eventually
from tests.rollouts.conftest import PASSWORD, wait_rollout
from tests.sandbox.conftest import SandboxProcess

OTTO = Actor("otto", True, "web")
VERA = Actor("vera", False, "web", "Your role is viewer.")
NAME = "greet-canary"
pytestmark = pytest.mark.django_db


def _get(sandbox: SandboxProcess, ns: str, *args: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(sandbox.kubectl("get", *args, "-n", ns, "-o", "json").stdout)[
        "items"
    ]
    return items


def deployment_names(sandbox: SandboxProcess, ns: str) -> set[str]:
    return {d["metadata"]["name"] for d in _get(sandbox, ns, "deployments")}


def service_events(sandbox: SandboxProcess, ns: str, service: str) -> list[tuple[str, str]]:
    """(reason, message) of the Events `kubectl get events` lists about the Service."""
    return [
        (e["reason"], e["message"])
        for e in _get(sandbox, ns, "events")
        if e["involvedObject"]["kind"] == "Service" and e["involvedObject"]["name"] == service
    ]


def settled(stable_replicas: int, canary_replicas: int) -> Any:
    def ok(r: Rollout) -> bool:
        stable, canary = r.stable, r.canary
        return (
            stable is not None
            and canary is not None
            and (stable.desired, stable.ready, canary.desired) == (stable_replicas, 0, canary_replicas)
            and canary.fully_available
        )

    return ok


def promoted(cluster: Cluster, ns: str) -> Rollout:
    loaded = wait_rollout(cluster.name, ns, NAME, lambda r: r.canary is not None and r.canary.fully_available)
    outcome = services.rollout_promote(rollout=loaded, actor=OTTO, cluster=cluster)
    assert outcome.result == RolloutAction.APPLIED, outcome.message
    return wait_rollout(cluster.name, ns, NAME, settled(0, 4))


def test_refused_before_promote_then_deleted_after_with_its_replicasets_and_pods(
    hub: WatchHub, rollout_cluster: Cluster, rollout_sandbox: SandboxProcess, canary_namespace: str
) -> None:
    ns, c, sandbox = canary_namespace, rollout_cluster, rollout_sandbox
    before = wait_rollout(c.name, ns, NAME, lambda r: r.canary is not None and r.canary.fully_available)
    early = services.rollout_delete_retired(rollout=before, actor=OTTO, cluster=c, deployment="greet-stable")
    assert early.result == RolloutAction.REFUSED
    assert "greet-stable still has replicas (3/3): promote first" in early.message
    wrong = services.rollout_delete_retired(rollout=before, actor=OTTO, cluster=c, deployment="greet-canary")
    assert wrong.result == RolloutAction.REFUSED and "greet-canary is the canary" in wrong.message
    forbidden = services.rollout_delete_retired(
        rollout=before, actor=VERA, cluster=c, deployment="greet-stable"
    )
    assert forbidden.result == RolloutAction.FORBIDDEN and "viewer" in forbidden.message
    assert deployment_names(sandbox, ns) == {"greet-stable", "greet-canary"}
    assert len(_get(sandbox, ns, "pods", "-l", "track=stable")) == 3

    loaded = promoted(c, ns)
    stable_uid = loaded.stable.deployment.ref.uid  # type: ignore[union-attr]
    done = services.rollout_delete_retired(rollout=loaded, actor=OTTO, cluster=c, deployment="greet-stable")
    assert done.result == RolloutAction.APPLIED, done.message
    assert "Deleted greet-stable" in done.message and "no longer possible" in done.message
    assert deployment_names(sandbox, ns) == {"greet-canary"}

    # Background propagation: the garbage collector takes its ReplicaSets, and their pods (bounded wait).
    def dependents_gone() -> bool:
        owned = [
            rs
            for rs in _get(sandbox, ns, "replicasets")
            if any(o.get("uid") == stable_uid for o in rs["metadata"].get("ownerReferences") or [])
        ]
        return not owned and not _get(sandbox, ns, "replicasets", "-l", "track=stable")

    assert eventually(dependents_gone, timeout=60, interval=0.2), "greet-stable's ReplicaSets remain"
    assert eventually(lambda: not _get(sandbox, ns, "pods", "-l", "track=stable"), timeout=60, interval=0.2)
    assert len(_get(sandbox, ns, "pods", "-l", "track=canary")) == 4  # the promoted canary keeps serving

    rows = list(RolloutAction.objects.filter(namespace=ns, action="delete-retired").order_by("id"))
    assert [(r.actor, r.result) for r in rows] == [
        ("otto", "refused"),
        ("otto", "refused"),
        ("vera", "forbidden"),
        ("otto", "applied"),
    ]
    assert rows[-1].before["replicas"] == {"greet-canary": 4, "greet-stable": 0}
    assert rows[-1].after["replicas"] == {"greet-canary": 4}
    deleted = [m for r, m in service_events(sandbox, ns, NAME) if r == "DeploymentDeleted"]
    assert len(deleted) == 1 and "greet-stable" in deleted[0] and "(by otto)" in deleted[0]
    # Asked again from the same load: the Deployment is gone, nothing more to do.
    again = services.rollout_delete_retired(rollout=loaded, actor=OTTO, cluster=c, deployment="greet-stable")
    assert again.result == RolloutAction.NOOP and "already deleted" in again.message


def test_a_stale_card_is_refused_and_nothing_is_deleted(
    hub: WatchHub, rollout_cluster: Cluster, rollout_sandbox: SandboxProcess, canary_namespace: str
) -> None:
    ns, c, sandbox = canary_namespace, rollout_cluster, rollout_sandbox
    loaded = promoted(c, ns)
    rv = loaded.stable.deployment.ref.resource_version  # type: ignore[union-attr]
    # Someone else touches greet-stable after the operator loaded the card: a new resourceVersion.
    sandbox.kubectl("annotate", "deployment", "greet-stable", "-n", ns, "example.com/touched=yes")
    now = json.loads(sandbox.kubectl("get", "deployment", "greet-stable", "-n", ns, "-o", "json").stdout)
    assert now["metadata"]["resourceVersion"] != rv
    stale = services.rollout_delete_retired(rollout=loaded, actor=OTTO, cluster=c, deployment="greet-stable")
    assert stale.result == RolloutAction.CONFLICT
    assert stale.message == f"{ns}/{NAME} changed since you loaded it: reload and try again."
    assert deployment_names(sandbox, ns) == {"greet-stable", "greet-canary"}
    assert not [r for r, _ in service_events(sandbox, ns, NAME) if r == "DeploymentDeleted"]
    row = RolloutAction.objects.get(namespace=ns, action="delete-retired")
    assert (row.actor, row.result) == ("otto", "conflict")
    # From a fresh load (the cache has the new resourceVersion) the CLI deletes it.
    wait_rollout(
        c.name,
        ns,
        NAME,
        lambda r: r.stable is not None and r.stable.deployment.ref.resource_version != rv,
    )
    with pytest.raises(SystemExit) as usage:
        call_command("rollout", "delete-retired", f"{ns}/{NAME}", stdout=StringIO(), stderr=StringIO())
    assert usage.value.code == 2
    out = StringIO()
    call_command("rollout", "delete-retired", f"{ns}/{NAME}", "greet-stable", "--wait", stdout=out)
    assert (
        "applied: Deleted greet-stable" in out.getvalue() and "done: greet-stable deleted" in out.getvalue()
    )
    assert deployment_names(sandbox, ns) == {"greet-canary"}
    assert RolloutAction.objects.filter(namespace=ns, source="cli", result="applied").count() == 1


def signed_in(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_button_the_confirmation_and_a_viewer_refused_with_403(
    hub: WatchHub,
    rollout_cluster: Cluster,
    rollout_sandbox: SandboxProcess,
    canary_namespace: str,
    operator: Any,
    viewer: Any,
) -> None:
    ns, c, sandbox = canary_namespace, rollout_cluster, rollout_sandbox
    wait_rollout(c.name, ns, NAME, lambda r: r.canary is not None and r.canary.fully_available)
    card_url = f"/rollouts/{ns}/{NAME}/"
    card = signed_in(operator).get(card_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="delete-retired-button"' in card and "Delete greet-stable…" in card
    assert 'disabled aria-describedby="delete-retired-reason"' in card
    assert "greet-stable still has replicas (3/3): promote first" in card

    loaded = promoted(c, ns)
    card = signed_in(operator).get(card_url, HTTP_HX_REQUEST="true").content.decode()
    form = card[card.index('<form method="post" id="delete-retired-form"') :]
    form = form[: form.index("</form>")]
    assert f"Delete Deployment greet-stable in {ns}" in form and "Undo is no longer possible" in form
    assert "disabled" not in form and 'name="deployment" value="greet-stable"' in form
    viewer_card = signed_in(viewer).get(card_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'disabled title="Your role is viewer' in viewer_card.split('id="delete-retired-form"')[1]

    url = f"/rollouts/{ns}/{NAME}/delete-retired"
    data = {"cluster": c.name, "versions": loaded.versions_token(), "deployment": "greet-stable"}
    refused = signed_in(viewer).post(url, data, HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    assert deployment_names(sandbox, ns) == {"greet-stable", "greet-canary"}
    done = signed_in(operator).post(url, data, HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and "Deleted greet-stable" in done.content.decode()
    assert done["HX-Redirect"] == f"/rollouts/?cluster={c.name}"
    assert deployment_names(sandbox, ns) == {"greet-canary"}
    assert list(RolloutAction.objects.filter(action="delete-retired").values_list("actor", "result")) == [
        ("otto", "applied")
    ]


def test_blue_green_deletes_the_retired_colour_only_after_the_scale_down_delay(
    hub: WatchHub, rollout_cluster: Cluster, rollout_sandbox: SandboxProcess, bg_namespace: str
) -> None:
    ns, c, sandbox = bg_namespace, rollout_cluster, rollout_sandbox
    loaded = wait_rollout(
        c.name, ns, "greet-bg", lambda r: r.preview is not None and r.preview.fully_available
    )
    assert services.rollout_switch(rollout=loaded, actor=OTTO, cluster=c, to="green").ok
    switched = wait_rollout(
        c.name, ns, "greet-bg", lambda r: r.active is not None and r.active.value == "green"
    )
    waiting = services.rollout_delete_retired(
        rollout=switched, actor=OTTO, cluster=c, deployment="greet-blue"
    )
    assert waiting.result == RolloutAction.REFUSED and "scale-down delay" in waiting.message
    active = services.rollout_delete_retired(
        rollout=switched, actor=OTTO, cluster=c, deployment="greet-green"
    )
    assert active.result == RolloutAction.REFUSED and "greet-green is active" in active.message
    step = ScheduledStep.objects.get(namespace=ns, kind=ScheduledStep.SCALE_DOWN)
    ScheduledStep.objects.filter(pk=step.pk).update(due_at=step.created_at)  # the delay, elapsed
    assert services.scheduled_run_due() == 1
    retired = wait_rollout(
        c.name,
        ns,
        "greet-bg",
        lambda r: (t := r.track("blue")) is not None and (t.desired, t.ready) == (0, 0),
    )
    done = services.rollout_delete_retired(rollout=retired, actor=OTTO, cluster=c, deployment="greet-blue")
    assert done.result == RolloutAction.APPLIED, done.message
    assert deployment_names(sandbox, ns) == {"greet-green"}
    assert any(
        r == "DeploymentDeleted" and "(by otto)" in m for r, m in service_events(sandbox, ns, "greet-bg")
    )
