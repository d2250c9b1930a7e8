"""Session-wide test ordering only (fixtures live beside the tests that use them)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Sync Playwright leaves an event loop running in the main thread; pytest-asyncio tests after it fail
    # with "cannot be called from a running event loop". So every browser test runs last (stable order).
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
