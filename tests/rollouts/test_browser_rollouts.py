"""Browser: an operator switches blue → green and sees the traffic flip on the card, rolls back, moves a
canary to 25 % and sees about a quarter of the answers from canary pods; a viewer sees disabled buttons
with the reason. Debian's Chromium through Playwright against a live daphne; screenshots to test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kube.clusters import Cluster
from kube.watching import WatchHub
from rollouts.traffic import traffic_close
from tests.dashboard.conftest import live_daphne  # noqa: F401  (fixture)
from tests.rollouts.conftest import PASSWORD, wait_rollout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    # Sync Playwright runs an event loop in this thread; the ORM refuses to run beside one unless told.
    # Session-wide (the database is flushed after the test, with the loop still there); browser tests
    # run last (tests/conftest.py).
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if old is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


@pytest.fixture(autouse=True)
def _probes_stopped() -> Iterator[None]:
    yield
    traffic_close()


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def observed_between(page: Page, track: str, low: float, high: float, timeout_ms: float = 20_000) -> None:
    """The card's observed share (last 5 s) of `track` lands in [low, high]."""
    page.wait_for_function(
        """([track, low, high]) => {
            const row = document.getElementById(`share-${track}`);
            const v = row && parseFloat(row.dataset.observed);
            return v >= low && v <= high;
        }""",
        arg=[track, low, high],
        timeout=timeout_ms,
    )


def test_operator_switches_rolls_back_and_moves_a_canary_to_25(
    hub: WatchHub,
    rollout_cluster: Cluster,
    lookaside: str,
    bg_namespace: str,
    canary_namespace: str,
    operator: Any,
    live_daphne: str,  # noqa: F811
    page: Page,
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    for ns, name in ((bg_namespace, "greet-bg"), (canary_namespace, "greet-canary")):
        wait_rollout(
            rollout_cluster.name, ns, name, lambda r: r.ready and all(t.desired for t in r.tracks), 90
        )
    sign_in(page, live_daphne, operator.username)

    page.goto(f"{live_daphne}/rollouts/{bg_namespace}/greet-bg/")
    page.locator("#probe-start").click()
    observed_between(page, "blue", 0.99, 1.0)
    page.get_by_text("Switch to green…").click()
    expect(page.locator("#selector-diff")).to_have_text("app: blue → green")
    page.locator("#switch-button").click()
    expect(page.locator("#rollout-card")).to_have_attribute("data-active", "green", timeout=10_000)
    observed_between(page, "green", 0.99, 1.0)
    expect(page.locator("#countdown")).to_contain_text("greet-blue scales to 0 in")
    expect(page.locator("#share-chart .mark").first).to_be_attached()
    shoot(page, "rollouts-switched-to-green")

    page.locator("#rollback-button").click()
    expect(page.locator("#rollout-card")).to_have_attribute("data-active", "blue", timeout=10_000)
    observed_between(page, "blue", 0.99, 1.0)
    expect(page.locator("#probe-failed")).to_have_text("0")

    page.goto(f"{live_daphne}/rollouts/{canary_namespace}/greet-canary/")
    page.locator("#probe-start").click()
    page.locator("#weight-50").click()
    expect(page.locator("#rollout-card")).to_have_attribute("data-weight", "50", timeout=10_000)
    observed_between(page, "canary", 0.4, 0.6, timeout_ms=30_000)
    page.locator("#weight-25").click()
    expect(page.locator("#rollout-card")).to_have_attribute("data-weight", "25", timeout=10_000)
    observed_between(page, "canary", 0.15, 0.35, timeout_ms=30_000)  # 1 of 4 pods: about a quarter
    shoot(page, "rollouts-canary-25")


def test_viewer_sees_the_buttons_disabled_with_the_reason(
    hub: WatchHub,
    rollout_cluster: Cluster,
    bg_namespace: str,
    viewer: Any,
    live_daphne: str,  # noqa: F811
    page: Page,
) -> None:
    wait_rollout(rollout_cluster.name, bg_namespace, "greet-bg", lambda r: r.preview is not None, 60)
    sign_in(page, live_daphne, viewer.username)
    page.goto(f"{live_daphne}/rollouts/{bg_namespace}/greet-bg/")
    reason = page.locator("#act-refusal")
    expect(reason).to_be_visible()
    assert "viewer" in (reason.text_content() or "").lower()
    expect(page.locator("#rollback-button")).to_be_disabled()
    summary = page.get_by_text("Switch to green…")
    expect(summary).to_have_attribute("aria-disabled", "true")
    expect(summary).to_have_attribute("title", reason.text_content() or "")
    expect(page.locator("#switch-button")).to_be_disabled()
    expect(page.locator("#probe-start")).to_be_disabled()
    shoot(page, "rollouts-viewer")
