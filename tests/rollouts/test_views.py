"""Views: the list and card pages, htmx partials, CSRF on actions, a viewer refused with 403."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kube.clusters import Cluster
from kube.watching import WatchHub
from rollouts.models import RolloutAction
from tests.rollouts.conftest import PASSWORD, wait_rollout

pytestmark = pytest.mark.django_db


def signed_in(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_list_card_and_partials(
    hub: WatchHub, rollout_cluster: Cluster, bg_namespace: str, operator: Any
) -> None:
    loaded = wait_rollout(
        rollout_cluster.name,
        bg_namespace,
        "greet-bg",
        lambda r: r.preview is not None and r.preview.fully_available,
    )
    client = signed_in(operator)
    page = client.get("/rollouts/").content.decode()
    assert f"rollout-row-{bg_namespace}-greet-bg" in page and "Green is Available and not switched." in page
    card = client.get(f"/rollouts/{bg_namespace}/greet-bg/", HTTP_HX_REQUEST="true").content.decode()
    assert card.lstrip().startswith('<article id="rollout-card"') and "<html" not in card
    assert "app: blue → green" in card and loaded.versions_token() in card
    # The ReplicaSet revision the Deployment controller annotated, and the honest pick_first note.
    assert loaded.track("blue").revision == "1" and '<td class="revision">1</td>' in card  # type: ignore[union-attr]
    assert 'id="pick-first-note"' in card and "existing connections stay on the old pods" in card
    full = client.get(f"/rollouts/{bg_namespace}/greet-bg/").content.decode()
    assert "<html" in full and "ws-connect" in full


def test_actions_need_csrf_and_the_operator_role(
    hub: WatchHub, rollout_cluster: Cluster, bg_namespace: str, operator: Any, viewer: Any
) -> None:
    loaded = wait_rollout(
        rollout_cluster.name,
        bg_namespace,
        "greet-bg",
        lambda r: r.preview is not None and r.preview.fully_available,
    )
    url = f"/rollouts/{bg_namespace}/greet-bg/switch"
    data = {"cluster": rollout_cluster.name, "versions": loaded.versions_token(), "to": "green"}
    assert signed_in(operator, enforce_csrf_checks=True).post(url, data).status_code == 403  # no CSRF token
    assert signed_in(viewer).post(url, data, HTTP_HX_REQUEST="true").status_code == 403
    stale = signed_in(operator).post(url, data | {"versions": "svc/greet-bg=1"}, HTTP_HX_REQUEST="true")
    assert stale.status_code == 409 and "changed since you loaded it" in stale.content.decode()
    done = signed_in(operator).post(url, data, HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and "Switched" in done.content.decode()
    assert list(RolloutAction.objects.values_list("actor", "result")) == [
        ("otto", "applied"),
        ("otto", "conflict"),
    ]
    history = signed_in(operator).get(f"/rollouts/{bg_namespace}/greet-bg/history").content.decode()
    assert history.count('<tr class="result-') == 2
