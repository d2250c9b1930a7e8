"""Browser tests: Debian's Chromium through Playwright against a live daphne and a sandbox running greet.

Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import PASSWORD
from tests.e2e.conftest import Cluster as GreetCluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCALE_NAMESPACE = "browser-scale"


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    # Sync Playwright runs an event loop in this thread; the ORM (the test database, users in fixtures)
    # refuses to run beside one unless told. Session-wide, as the test database is; browser tests run last.
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if old is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def unscheduled_deployment(name: str, replicas: int) -> str:
    # Bound to a node nobody runs: the overview shows desired replicas without starting processes.
    labels = {"app": name}
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": SCALE_NAMESPACE},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels | {"version": "v1"}},
                    "spec": {
                        "nodeName": "browser-unscheduled",
                        "containers": [{"name": "main", "image": "switchyard/greet:0.1"}],
                    },
                },
            },
        }
    )


def test_sign_in_and_overview_follows_kubectl_scale(
    page: Page, greet_daphne: str, greet_settings: GreetCluster, operator: Any
) -> None:
    namespace = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SCALE_NAMESPACE}})
    greet_settings.kubectl("apply", "-f", "-", input=namespace)
    greet_settings.kubectl("apply", "-f", "-", input=unscheduled_deployment("signals", 1))
    sign_in(page, greet_daphne, operator.username)
    page.goto(f"{greet_daphne}/?namespace={SCALE_NAMESPACE}")
    row = page.locator(f"#deployment-{SCALE_NAMESPACE}-signals")
    expect(row).to_have_attribute("data-desired", "1")
    page.evaluate("window.__notReloaded = true")

    greet_settings.kubectl("scale", "deployment/signals", "-n", SCALE_NAMESPACE, "--replicas=4")

    expect(row).to_have_attribute("data-desired", "4", timeout=10_000)
    expect(page.locator("#pods h2")).to_contain_text("(4)")
    assert page.evaluate("window.__notReloaded") is True, "the page reloaded instead of updating live"
    shoot(page, "overview-after-scale")


def _pod_shares(page: Page) -> dict[str, float]:
    bars = page.locator("#traffic-bars li.pod-bar")
    return {
        str(bars.nth(i).get_attribute("data-pod")): float(bars.nth(i).get_attribute("data-share") or 0)
        for i in range(bars.count())
    }


def _start_probe(page: Page, base: str, *, balancing: str, address: str, rate: int) -> None:
    page.goto(f"{base}/traffic/")
    if not page.locator("#probe-new").evaluate("details => details.open"):
        page.get_by_text("Start a probe").click()  # the form folds away while a probe is shown
    form = page.locator("#probe-start")
    form.get_by_label("Path").select_option("grpc")
    form.get_by_label("Balancing").select_option(balancing)
    form.get_by_label("Address (host:port)").fill(address)
    form.get_by_label("Rate (req/s, 1\u20131000)").fill(str(rate))
    form.get_by_role("button", name="Start probe").click()
    # The server answers with HX-Redirect to the probe's live view.
    expect(page).to_have_url(re.compile(r"/traffic/\?probe="), timeout=15_000)
    expect(page.locator("#probe-state")).to_contain_text("live", timeout=10_000)


def test_traffic_round_robin_spreads_and_pick_first_sticks(
    page: Page, greet_daphne: str, greet_settings: GreetCluster, operator: Any
) -> None:
    sign_in(page, greet_daphne, operator.username)
    servers = {p["metadata"]["name"] for p in greet_settings.pods("default", "run=greetserver")}
    assert len(servers) == 3

    _start_probe(
        page,
        greet_daphne,
        balancing="round_robin",
        address="greetserver-headless.default.svc.cluster.local:50051",
        rate=60,
    )
    bars = page.locator("#traffic-bars li.pod-bar")
    expect(bars).to_have_count(3, timeout=15_000)
    # Let a few seconds of answers in, then every server holds about a third (round_robin rotates per call).
    page.wait_for_function(
        "[...document.querySelectorAll('#traffic-bars li.pod-bar')]"
        ".reduce((n, li) => n + Number(li.dataset.answers), 0) >= 150",
        timeout=20_000,
    )
    shares = _pod_shares(page)
    assert set(shares) == servers
    assert all(0.25 <= share <= 0.42 for share in shares.values()), shares
    expect(page.locator(".version-group")).to_have_attribute("data-version", "v1")
    expect(page.locator("#fig-rps")).not_to_have_text("\u2013")  # an en dash until the first closed second
    expect(page.locator("#chart-share canvas")).to_be_visible()
    shoot(page, "traffic-round-robin-light")
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(600)  # a couple of frames, so the charts redraw with the dark axes
    shoot(page, "traffic-round-robin-dark")
    page.emulate_media(color_scheme="light")

    cluster_ip = greet_settings.kubectl(
        "get", "service", "greetserver", "-n", "default", "-o", "jsonpath={.spec.clusterIP}"
    ).strip()
    _start_probe(page, greet_daphne, balancing="pick_first", address=f"{cluster_ip}:50051", rate=60)
    page.wait_for_function(
        "[...document.querySelectorAll('#traffic-bars li.pod-bar')]"
        ".reduce((n, li) => n + Number(li.dataset.answers), 0) >= 100",
        timeout=20_000,
    )
    shares = _pod_shares(page)
    assert len(shares) == 1 and set(shares) <= servers, shares  # one connection, one pod
    assert next(iter(shares.values())) == 1.0
    # Both probes are listed; the round_robin one keeps running for whoever watches it.
    expect(page.locator("#probe-list li")).to_have_count(2)
    shoot(page, "traffic-pick-first-light")


def test_viewer_sees_disabled_controls_and_is_refused(
    page: Page, greet_daphne: str, greet_settings: GreetCluster, viewer: Any
) -> None:
    sign_in(page, greet_daphne, viewer.username)
    page.goto(f"{greet_daphne}/traffic/")
    start = page.locator("#probe-start")
    expect(start.locator("fieldset")).to_have_attribute("disabled", "")
    expect(start.get_by_label("Path")).to_be_disabled()
    expect(start.get_by_role("button", name="Start probe")).to_be_disabled()
    expect(start.locator(".reason")).to_contain_text("Your role is viewer")
    shoot(page, "traffic-viewer")

    # The server refuses whatever the page shows: a CSRF-valid POST from the viewer's session gets 403.
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    response = page.request.post(
        f"{greet_daphne}/traffic/probes/start",
        form={"kind": "grpc", "balancing": "pick_first", "address": "127.0.0.1:1", "rate": "5"},
        headers={"X-CSRFToken": token, "Referer": f"{greet_daphne}/traffic/"},
    )
    assert response.status == 403
    assert "viewer" in response.text()

    page.goto(f"{greet_daphne}/?namespace=default")
    scale = page.locator("form.scale").first
    expect(scale.get_by_role("button", name="Scale")).to_be_disabled()
    expect(scale.locator(".reason")).to_contain_text("Your role is viewer")
