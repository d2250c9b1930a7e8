"""The seed's resource-quota article driven through the quotas views against a real sandbox."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from kube.clusters import Cluster
from kube.fetching import deployment_get, limitrange_list
from kube.watching import WatchHub
from quotas.forms import PRESETS
from quotas.models import QuotaAction
from tests.kube.conftest import eventually
from tests.sandbox.conftest import SandboxProcess

pytestmark = pytest.mark.django_db

BAR = re.compile(r'data-resource="([^"]+)" data-used="([^"]*)" data-hard="([^"]*)" data-level="([^"]*)"')
HELD = re.compile(r'data-workload="([^"]+)" data-created="(\d+)" data-desired="(\d+)" data-refusal="([^"]+)"')
SEED_FINAL = {
    "limits.cpu": ("600m", "2"),
    "limits.memory": ("1536Mi", "2Gi"),
    "requests.cpu": ("300m", "1"),
    "requests.memory": ("768Mi", "1Gi"),
}


class QuotaPage:
    def __init__(self, client: Client, cluster: Cluster, namespace: str) -> None:
        self.client, self.cluster, self.namespace = client, cluster, namespace

    def html(self) -> str:
        response = self.client.get("/quotas/", {"cluster": self.cluster.name, "namespace": self.namespace})
        assert response.status_code == 200
        return str(response.content.decode())

    def bars(self) -> dict[str, tuple[str, str]]:
        return {r: (u, h) for r, u, h, _ in BAR.findall(self.html())}

    def held(self) -> dict[str, tuple[int, int, str]]:
        return {w: (int(c), int(d), k) for w, c, d, k in HELD.findall(self.html())}

    def form(self, **values: str) -> dict[str, str]:
        return {"cluster": self.cluster.name, "namespace": self.namespace, **values}


def test_the_seed_through_the_quotas_page(
    client: Client,
    operator: Any,
    viewer: Any,
    sandbox_hub: WatchHub,
    cluster: Cluster,
    kube_sandbox: SandboxProcess,
    mynamespace: str,
    kubectl_seed: Callable[[str, str], None],
) -> None:
    ns = mynamespace
    client.force_login(operator)
    page = QuotaPage(client, cluster, ns)

    # 1. the quotas at rest: the seed's `kubectl get quota` values
    assert eventually(lambda: page.bars().get("configmaps") == ("1", "10"), timeout=10), page.bars()
    bars = page.bars()
    assert bars["requests.cpu"] == ("0", "1") and bars["requests.memory"] == ("0", "1Gi")
    assert bars["limits.cpu"] == ("0", "2") and bars["limits.memory"] == ("0", "2Gi")
    assert bars["services.loadbalancers"] == ("0", "2") and bars["persistentvolumeclaims"] == ("0", "4")
    html = page.html()
    assert "user-compute-quota" in html and "user-object-quota" in html
    assert 'ws-connect="/ws/quotas/?cluster=' in html and "LimitRange editor" in html

    # 2. dep_without_quota: 0/3, "must specify"
    kubectl_seed("dep_without_quota.yaml", ns)
    assert eventually(lambda: page.held().get("nginx-deployment") == (0, 3, "must-specify"), timeout=20)
    html = page.html()
    assert (
        "failed quota: user-compute-quota: must specify limits.cpu for: k8s-demo; limits.memory for: k8s-demo; "
        "requests.cpu for: k8s-demo; requests.memory for: k8s-demo"
    ) in html
    assert "container k8s-demo lacks limits.cpu, limits.memory, requests.cpu, requests.memory" in html

    # 3. dep_with_quota: 2/3, exceeded quota, memory full
    kubectl_seed("dep_with_quota.yaml", ns)
    assert eventually(lambda: page.held().get("helloworld-deployment") == (2, 3, "exceeded"), timeout=20)
    assert eventually(lambda: page.bars().get("limits.memory") == ("2Gi", "2Gi"), timeout=10)
    html = page.html()
    assert (
        "exceeded quota: user-compute-quota, requested: limits.memory=1Gi,requests.memory=512Mi, "
        "used: limits.memory=2Gi,requests.memory=1Gi, limited: limits.memory=2Gi,requests.memory=1Gi"
    ) in html
    assert 'data-resource="limits.memory" data-used="2Gi" data-hard="2Gi" data-level="full"' in html
    assert "limits.memory (each pod asks 1Gi, 2Gi of 2Gi already used, 1Gi short)" in html
    assert page.bars()["limits.cpu"] == ("800m", "2") and page.bars()["requests.cpu"] == ("400m", "1")

    # 4. preview while helloworld holds the memory: nginx would get the defaults but still not fit
    preset = page.form(**PRESETS["limits-quota"])
    preview = client.post("/quotas/limitranges/preview", preset, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="limitrange-editor"' in preview and "<html" not in preview
    assert 'data-deployment="nginx-deployment" data-fits="false"' in preview
    assert (
        "k8s-demo</code>: limits.cpu=200m, limits.memory=512Mi, requests.cpu=100m, requests.memory=256Mi"
        in preview
    )
    assert "requests.memory needs 768Mi more, only 0 free (1Gi/1Gi used)" in preview

    # 5. refusals change nothing: a viewer, no CSRF token, invalid fields, the API's own 422
    viewer_client = Client()
    viewer_client.force_login(viewer)
    assert viewer_client.post("/quotas/limitranges/apply", preset).status_code == 403
    viewer_page = viewer_client.get("/quotas/", {"cluster": cluster.name, "namespace": ns}).content.decode()
    assert 'disabled title="Your role is viewer' in viewer_page
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post("/quotas/limitranges/apply", preset).status_code == 403
    bad = client.post(
        "/quotas/limitranges/apply",
        page.form(
            name="limits-quota",
            type="Container",
            default_cpu="200m",
            default_request_cpu="300m",
            default_memory="12XB",
        ),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "defaultRequest cpu 300m must be ≤ default cpu 200m" in bad
    assert "default memory: &#x27;12XB&#x27; is not a quantity" in bad
    assert 'aria-invalid="true" aria-describedby="id_default_request_cpu-error"' in bad
    refused = client.post(
        "/quotas/limitranges/apply",
        page.form(name="ratio", type="Container", min_cpu="100m", max_cpu="200m", ratio_cpu="5"),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "The API refused:" in refused and "ratio 5 is greater than max/min = 2.000000" in refused
    assert limitrange_list(cluster, namespace=ns) == []
    (audit,) = QuotaAction.objects.all()
    assert (audit.result, audit.name, audit.after) == ("refused", "ratio", None)
    assert "ratio 5 is greater than max/min" in audit.message

    # 6. the seed removes helloworld; then the preview says nginx fits
    kube_sandbox.kubectl("delete", "deployment", "helloworld-deployment", "-n", ns)
    assert eventually(lambda: page.bars().get("requests.memory") == ("0", "1Gi"), timeout=30), page.bars()
    preview = client.post("/quotas/limitranges/preview", preset, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-deployment="nginx-deployment" data-fits="true"' in preview
    assert "3 more pods fit within user-compute-quota." in preview

    # 7. apply the preset through the form: nginx-deployment reaches 3/3, the bars read the seed's totals
    done = client.post("/quotas/limitranges/apply", preset, HTTP_HX_REQUEST="true").content.decode()
    assert "Applied LimitRange " + ns + "/limits-quota." in done
    applied = QuotaAction.objects.filter(result="ok").get()
    assert (applied.username, applied.action, applied.namespace, applied.before) == (
        "otto",
        "apply",
        ns,
        None,
    )
    assert applied.after == {
        "limits": [
            {
                "type": "Container",
                "default": {"cpu": "200m", "memory": "512Mi"},
                "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
            }
        ]
    }
    assert eventually(
        lambda: deployment_get(cluster, namespace=ns, name="nginx-deployment").ready == 3, timeout=60
    )
    assert eventually(lambda: all(page.bars().get(r) == v for r, v in SEED_FINAL.items()), timeout=20), (
        page.bars()
    )
    assert "nginx-deployment" not in page.held()
    html = page.html()
    assert 'id="limitrange-limits-quota"' in html and "otto" in html  # the LimitRange and the audit row

    # 8. delete it through the view, audited
    response = client.post(
        "/quotas/limitranges/delete", page.form(name="limits-quota"), HTTP_HX_REQUEST="true"
    )
    assert f"Deleted LimitRange {ns}/limits-quota." in response.content.decode()
    assert limitrange_list(cluster, namespace=ns) == []
    deleted = QuotaAction.objects.filter(action="delete").get()
    assert deleted.before == applied.after and deleted.after is None and deleted.result == "ok"
