"""The overview websocket through the full ASGI router (origin check → session auth → URL routing)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from dashboard.metrics import WEBSOCKET_CLIENTS
from kube.clusters import Cluster
from kube.patching import deployment_scale
from kube.watching import WatchHub
from tests.kube.conftest import create_deployment

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def test_anonymous_socket_is_closed_with_4401() -> None:
    communicator = WebsocketCommunicator(application, "/ws/overview/", headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.wait()


async def test_foreign_origin_is_refused(viewer: Any) -> None:
    cookie = await sync_to_async(_session_cookie)(viewer)
    communicator = WebsocketCommunicator(
        application, "/ws/overview/", headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def _receive_until(communicator: WebsocketCommunicator, needle: str, timeout: float = 10.0) -> str:
    """Messages until one contains needle (bounded); the last message otherwise."""
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


async def test_overview_socket_pushes_partials_after_a_change(
    viewer: Any, sandbox_hub: WatchHub, cluster: Cluster, kube_namespace: str
) -> None:
    await asyncio.to_thread(create_deployment, cluster, kube_namespace, "live", replicas=1)
    cookie = await sync_to_async(_session_cookie)(viewer)
    path = f"/ws/overview/?cluster={cluster.name}&namespace={kube_namespace}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    clients = WEBSOCKET_CLIENTS.labels("overview")._value.get()
    assert clients >= 1
    try:
        first = await _receive_until(communicator, f'id="deployment-{kube_namespace}-live"')
        assert 'hx-swap-oob="true"' in first and 'data-desired="1"' in first
        assert "<fieldset disabled" in first  # the viewer's controls stay disabled over the socket too

        await asyncio.to_thread(deployment_scale, cluster, namespace=kube_namespace, name="live", replicas=4)
        pushed = await _receive_until(communicator, 'data-desired="4"')
        assert 'data-desired="4"' in pushed
        assert (
            'id="deployments" hx-swap-oob="true"' in pushed
            and 'id="cluster-state" hx-swap-oob="true"' in pushed
        )
    finally:
        await communicator.disconnect()
    assert WEBSOCKET_CLIENTS.labels("overview")._value.get() == clients - 1
