from __future__ import annotations

import json
import urllib.request
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from dashboard.models import ClusterAction
from dashboard.roles import user_can_operate
from kube.clusters import Cluster
from kube.fetching import deployment_get
from kube.watching import WatchHub
from tests.dashboard.conftest import PASSWORD
from tests.kube.conftest import create_deployment, eventually

pytestmark = pytest.mark.django_db


def test_pages_require_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    assert client.post("/deployments/scale").status_code == 302


def test_healthz_and_metrics_without_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    text = client.get("/metrics").content.decode()
    assert 'switchyard_http_requests_total{code="200",method="GET",view="healthz"}' in text
    assert "switchyard_websocket_clients" in text


def test_login_page_and_sign_in(client: Client, viewer: Any) -> None:
    assert b'name="password"' in client.get("/accounts/login/").content
    response = client.post("/accounts/login/", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    bad = client.post("/accounts/login/", {"username": "vera", "password": "wrong"})
    assert b"did not match" in bad.content


def test_groups_from_the_migration_and_adduser(viewer: Any, operator: Any) -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "operator"}
    assert not user_can_operate(viewer) and user_can_operate(operator)
    out = StringIO()
    call_command("adduser", "demo", "--role", "operator", "--generate-password", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "created demo (operator)" and lines[1].startswith("password: ")
    with pytest.raises(CommandError, match="already exists"):
        call_command("adduser", "demo", "--role", "viewer", "--password", PASSWORD, stdout=StringIO())
    out = StringIO()
    call_command(
        "adduser", "vera", "--role", "viewer", "--password", "another-long-passphrase", "--update", stdout=out
    )
    assert out.getvalue() == "updated vera (viewer)\n"  # nothing secret comes back unless we generated it
    call_command("adduser", "demo", "--role", "viewer", "--update", stdout=StringIO())
    assert list(Group.objects.filter(user__username="demo").values_list("name", flat=True)) == ["viewer"]
    with pytest.raises(CommandError):
        call_command("adduser", "weak", "--role", "viewer", "--password", "123", stdout=StringIO())


def test_viewer_sees_the_overview_with_disabled_controls(
    client: Client, viewer: Any, sandbox_hub: WatchHub, cluster: Cluster, kube_namespace: str
) -> None:
    create_deployment(cluster, kube_namespace, "blue", replicas=2, version="v7")
    informer = sandbox_hub.informer(cluster.name, "deployments")
    assert eventually(lambda: informer.get(kube_namespace, "blue"))
    client.force_login(viewer)
    page = client.get("/", {"cluster": cluster.name, "namespace": kube_namespace}).content.decode()
    assert 'id="deployment-' + kube_namespace + '-blue"' in page
    assert 'data-desired="2"' in page and "v7" in page and "greet:v7" in page
    assert "<fieldset disabled" in page and "Your role is viewer" in page
    assert f'ws-connect="/ws/overview/?cluster={cluster.name}&amp;namespace={kube_namespace}"' in page

    response = client.post(
        "/deployments/scale",
        {"cluster": cluster.name, "namespace": kube_namespace, "name": "blue", "replicas": 5},
    )
    assert response.status_code == 403
    assert deployment_get(cluster, namespace=kube_namespace, name="blue").desired == 2


def test_operator_scales_from_the_overview(
    client: Client, operator: Any, sandbox_hub: WatchHub, cluster: Cluster, kube_namespace: str
) -> None:
    create_deployment(cluster, kube_namespace, "green", replicas=1)
    client.force_login(operator)
    page = client.get("/", {"cluster": cluster.name, "namespace": kube_namespace}).content.decode()
    assert "<fieldset disabled" not in page and 'name="replicas"' in page
    data = {"cluster": cluster.name, "namespace": kube_namespace, "name": "green", "replicas": 3}
    response = client.post("/deployments/scale", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"to 3 replicas" in response.content
    assert deployment_get(cluster, namespace=kube_namespace, name="green").desired == 3
    missing = client.post("/deployments/scale", {**data, "name": "nope"}, HTTP_HX_REQUEST="true")
    assert b'class="flash error"' in missing.content and b"not found" in missing.content
    # Both attempts are audited, with Kubernetes' own words for the failure.
    failed, applied = ClusterAction.objects.order_by("-id")[:2]
    assert (applied.actor, applied.action, applied.target, applied.namespace) == (
        operator.get_username(),
        "scale",
        "deployment/green",
        kube_namespace,
    )
    assert (applied.result, applied.before, applied.after) == ("applied", {"replicas": 1}, {"replicas": 3})
    assert failed.result == "failed" and failed.target == "deployment/nope" and "not found" in failed.message


def test_unreachable_cluster_banner(client: Client, viewer: Any, settings: Any, tmp_path: Any) -> None:
    from dashboard.hub import reset_hub

    kubeconfig = tmp_path / "kubeconfig"
    # A server nobody listens on: the page must say so and mark the (empty) data stale.
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
                "current-context": "gone",
            }
        )
    )
    settings.SWITCHYARD_KUBECONFIG = str(kubeconfig)
    reset_hub()
    try:
        client.force_login(viewer)
        page = client.get("/").content.decode()
        assert 'class="banner' in page and "Connecting to <strong>gone</strong>" in page
        assert "Connection refused" in page or "connection refused" in page.lower()
        assert 'class="stale"' in page
    finally:
        reset_hub()


def test_live_daphne_serves_pages_and_vendored_files(live_daphne: str) -> None:
    with urllib.request.urlopen(f"{live_daphne}/healthz", timeout=5) as response:
        assert json.load(response) == {"status": "ok"}
    with urllib.request.urlopen(f"{live_daphne}/static/vendor/htmx.min.js", timeout=5) as response:
        assert b"htmx" in response.read(2000)
    with urllib.request.urlopen(f"{live_daphne}/", timeout=5) as response:  # follows the redirect
        assert response.url.endswith("/accounts/login/?next=/")
