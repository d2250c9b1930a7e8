"""Session-wide: test ordering, and how Playwright finds a browser (other fixtures live beside their tests)."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Sync Playwright leaves an event loop running in the main thread; pytest-asyncio tests after it fail
    # with "cannot be called from a running event loop". So every browser test runs last (stable order).
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Playwright cannot download its own browser here; no --browser-channel value finds Debian's.
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }
