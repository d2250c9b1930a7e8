"""The quotas page in Debian's Chromium (Playwright) against a live daphne and the sandbox.

Bars follow kubectl without a reload; the LimitRange editor refuses invalid values next to the field and
applies nothing, previews, applies the seed's preset (nginx-deployment 0/3 → 3/3, the bars at the seed's
totals) and the page follows after commit; a viewer sees Apply disabled with the reason.
Screenshots go to test-artifacts/ (gitignored), light and dark.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from kube.watching import WatchHub
from tests.dashboard.conftest import PASSWORD
from tests.sandbox.conftest import SandboxProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LIVE = 15_000  # ms: a watch event, the consumer's coalescing and one render, with room for a busy machine
SEED_FINAL = {
    "limits.cpu": ("600m", "2"),
    "limits.memory": ("1536Mi", "2Gi"),
    "requests.cpu": ("300m", "1"),
    "requests.memory": ("768Mi", "1Gi"),
}
POD = """
apiVersion: v1
kind: Pod
metadata: {name: sized}
spec:
  nodeName: browser-unscheduled  # nobody runs it: admitted and counted by the quota, no process
  containers:
    - name: main
      image: nginx
      resources:
        requests: {cpu: 250m, memory: 128Mi}
        limits: {cpu: 500m, memory: 256Mi}
"""


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    # Sync Playwright runs an event loop in this thread; the ORM (users in fixtures) refuses to run beside
    # one unless told. Session-wide, as the test database is; browser tests run last (tests/conftest.py).
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if old is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot in the light and in the dark scheme."""
    ARTIFACTS.mkdir(exist_ok=True)
    # Without transitions the dark shot shows the dark page, not inputs halfway through fading over.
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{scheme}.png"), full_page=True)
    page.emulate_media(color_scheme="light")


def sign_in(page: Page, base: str, username: str) -> None:
    page.add_init_script("document.addEventListener('htmx:wsOpen', () => { window.__wsOpen = true; })")
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def open_namespace(page: Page, base: str, namespace: str, query: str = "") -> None:
    page.goto(f"{base}/quotas/?namespace={namespace}{query}")
    expect(page.locator("#quota-summary")).to_contain_text("2 ResourceQuotas in " + namespace)
    page.wait_for_function("window.__wsOpen === true")  # htmx's ws extension says the socket is open
    page.evaluate("window.__notReloaded = true")


def bar(page: Page, namespace: str, resource: str, quota: str = "user-compute-quota") -> Locator:
    return page.locator(f'#quota-{namespace}-{quota} tr.bar[data-resource="{resource}"]')


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.__notReloaded === true") is True


def test_bars_follow_kubectl_without_a_reload(
    page: Page,
    sandbox_hub: WatchHub,
    live_daphne: str,
    operator: Any,
    seed_namespace: str,
    kube_sandbox: SandboxProcess,
) -> None:
    ns = seed_namespace
    sign_in(page, live_daphne, operator.username)
    open_namespace(page, live_daphne, ns)
    cpu = bar(page, ns, "requests.cpu")
    expect(cpu).to_have_attribute("data-used", "0")
    expect(cpu).to_have_attribute("data-hard", "1")
    expect(bar(page, ns, "configmaps", "user-object-quota")).to_have_attribute("data-used", "1")

    kube_sandbox.kubectl("apply", "-n", ns, "-f", "-", input=POD)

    expect(cpu).to_have_attribute("data-used", "250m", timeout=LIVE)
    expect(cpu.locator(".percent")).to_have_text("25 %")
    memory = bar(page, ns, "limits.memory")
    expect(memory).to_have_attribute("data-used", "256Mi")
    expect(memory).to_contain_text("256 MiB")
    expect(page.locator(f"#quota-ns-{ns}")).to_have_attribute("data-fullest", "25")
    assert not_reloaded(page), "the page reloaded instead of updating live"
    shoot(page, "quotas-bars-live")

    kube_sandbox.kubectl(
        "delete", "pod", "sized", "-n", ns, "--grace-period=0", "--force"
    )  # no kubelet runs it
    expect(cpu).to_have_attribute("data-used", "0", timeout=LIVE)
    assert not_reloaded(page)


def _limitranges(kube_sandbox: SandboxProcess, ns: str) -> str:
    return kube_sandbox.kubectl("get", "limitrange", "-n", ns, "-o", "name").stdout.strip()


def test_editor_refuses_previews_and_applies_the_preset(
    page: Page,
    sandbox_hub: WatchHub,
    live_daphne: str,
    operator: Any,
    seed_namespace: str,
    kube_sandbox: SandboxProcess,
    kubectl_seed: Callable[[str, str], None],
) -> None:
    ns = seed_namespace
    kubectl_seed("dep_without_quota.yaml", ns)
    sign_in(page, live_daphne, operator.username)
    open_namespace(page, live_daphne, ns)
    held = page.locator('tr.held-back[data-workload="nginx-deployment"]')
    expect(held).to_have_attribute("data-refusal", "must-specify", timeout=LIVE)
    expect(held).to_have_attribute("data-created", "0")
    expect(held.locator("p.plain")).to_contain_text(
        "container k8s-demo lacks limits.cpu, limits.memory, requests.cpu, requests.memory"
    )
    expect(held.locator("code.verbatim")).to_contain_text("failed quota: user-compute-quota: must specify")
    expect(page.locator("#limitranges")).to_contain_text("No LimitRange")

    # 1. invalid: defaultRequest above default, and a quantity that is not one. Errors by the fields.
    editor = page.locator("#limitrange-editor")
    editor.get_by_label("defaultRequest cpu").fill("300m")
    editor.get_by_label("default cpu", exact=True).fill("200m")
    editor.get_by_label("default memory", exact=True).fill("12XB")
    editor.get_by_role("button", name="Apply").click()
    request_cpu = editor.get_by_label("defaultRequest cpu")
    expect(request_cpu).to_have_attribute("aria-invalid", "true")
    expect(editor.locator("#id_default_request_cpu-error")).to_contain_text(
        "defaultRequest cpu 300m must be ≤ default cpu 200m"
    )
    expect(editor.locator("#id_default_memory-error")).to_contain_text("'12XB' is not a quantity")
    expect(editor.locator(".flash.success")).to_have_count(0)
    assert not_reloaded(page)
    shoot(page, "quotas-editor-invalid")
    assert _limitranges(kube_sandbox, ns) == "", "an invalid form reached the cluster"
    expect(held).to_have_attribute("data-created", "0")

    # 2. the preset, previewed: nginx-deployment would get the defaults and then fit.
    page.get_by_role("link", name="limits-quota").click()
    expect(editor.get_by_label("default cpu", exact=True)).to_have_value("200m")
    expect(editor.get_by_label("defaultRequest memory")).to_have_value("256Mi")
    page.wait_for_function("window.__wsOpen === true")
    page.evaluate("window.__notReloaded = true")  # the preset link loaded the page with the preset
    editor.get_by_role("button", name="Preview").click()
    row = editor.locator('tr.preview-row[data-deployment="nginx-deployment"]')
    expect(row).to_have_attribute("data-fits", "true")
    expect(row).to_contain_text(
        "limits.cpu=200m, limits.memory=512Mi, requests.cpu=100m, requests.memory=256Mi"
    )
    expect(row).to_contain_text("3 more pods fit within user-compute-quota.")
    assert _limitranges(kube_sandbox, ns) == "", "a preview reached the cluster"
    shoot(page, "quotas-editor-preview")

    # 3. apply: audited, and the page follows after commit (LimitRange, audit row, held-back, bars).
    editor.get_by_role("button", name="Apply").click()
    expect(editor.locator(".flash.success")).to_have_text(f"Applied LimitRange {ns}/limits-quota.")
    assert _limitranges(kube_sandbox, ns) == "limitrange/limits-quota"
    expect(page.locator("#limitrange-limits-quota")).to_be_visible(timeout=LIVE)
    expect(page.locator("#quota-actions tr.quota-action")).to_contain_text(operator.username)
    expect(held).to_have_count(0, timeout=60_000)  # the ReplicaSet retries with backoff
    for resource, (used, hard) in SEED_FINAL.items():
        expect(bar(page, ns, resource)).to_have_attribute("data-used", used, timeout=LIVE)
        expect(bar(page, ns, resource)).to_have_attribute("data-hard", hard)
    expect(page.locator("#held-back")).to_contain_text("No workload is held back.")
    assert not_reloaded(page), "the page reloaded instead of updating live"
    shoot(page, "quotas-editor-applied")


def test_viewer_sees_apply_disabled_with_the_reason(
    page: Page, sandbox_hub: WatchHub, live_daphne: str, viewer: Any, seed_namespace: str
) -> None:
    sign_in(page, live_daphne, viewer.username)
    open_namespace(page, live_daphne, seed_namespace, "&preset=limits-quota")
    editor = page.locator("#limitrange-editor")
    apply = editor.get_by_role("button", name="Apply")
    expect(apply).to_be_disabled()
    reason = "Your role is viewer: you can see everything but change nothing. Ask an operator."
    expect(apply).to_have_attribute("title", reason)
    expect(editor.locator(".reason")).to_have_text(reason)
    # Preview stays open to everyone: nothing is sent to the cluster.
    editor.get_by_role("button", name="Preview").click()
    expect(editor.locator("#limitrange-preview")).to_contain_text("No Deployments in " + seed_namespace)
    expect(apply).to_be_disabled()
    shoot(page, "quotas-viewer")
