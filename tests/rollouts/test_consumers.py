"""The rollout card's websocket through the full ASGI router (origin check → session auth → URL routing)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from kube.clusters import Cluster
from kube.watching import WatchHub
from rollouts import services
from rollouts.services import Actor
from tests.rollouts.conftest import wait_rollout

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _receive_until(communicator: WebsocketCommunicator, needle: str, timeout: float = 10.0) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = ""
    while loop.time() < deadline:
        try:
            last = str(await communicator.receive_from(timeout=max(0.1, deadline - loop.time())))
        except TimeoutError:
            break
        if needle in last:
            return last
    return last


async def test_anonymous_socket_is_closed_with_4401() -> None:
    communicator = WebsocketCommunicator(application, "/ws/rollouts/?name=x", headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.wait()


async def test_a_foreign_origin_is_refused() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/rollouts/?name=x", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_the_card_is_pushed_after_a_switch(
    hub: WatchHub, rollout_cluster: Cluster, bg_namespace: str, operator: Any
) -> None:
    ns = bg_namespace
    loaded = await asyncio.to_thread(
        wait_rollout,
        rollout_cluster.name,
        ns,
        "greet-bg",
        lambda r: all(t.fully_available for t in r.tracks),
        90,
    )
    cookie = await sync_to_async(_session_cookie)(operator)
    path = f"/ws/rollouts/?cluster={rollout_cluster.name}&namespace={ns}&name=greet-bg"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    try:
        first = await _receive_until(communicator, 'data-active="blue"')
        assert '<article id="rollout-card" hx-swap-oob="true"' in first
        outcome = await sync_to_async(services.rollout_switch)(
            rollout=loaded, actor=Actor("otto", True), cluster=rollout_cluster, to="green"
        )
        assert outcome.result == "applied", outcome.message
        pushed = await _receive_until(communicator, 'data-active="green"')
        assert 'data-active="green"' in pushed, pushed[:500]
        assert "greet-blue scales to 0 in" in pushed  # the countdown of the scale-down delay
    finally:
        await communicator.disconnect()
