"""The quotas websocket through the full ASGI router: bars pushed after a pod is admitted."""

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
from tests.sandbox.conftest import SandboxProcess

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")
POD = """
apiVersion: v1
kind: Pod
metadata: {name: sized}
spec:
  containers:
    - name: main
      image: nginx
      resources:
        requests: {cpu: 250m, memory: 128Mi}
        limits: {cpu: 500m, memory: 256Mi}
"""


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _receive_until(communicator: WebsocketCommunicator, needle: str, timeout: float = 15.0) -> str:
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
    communicator = WebsocketCommunicator(application, "/ws/quotas/", headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.wait()


async def test_bars_are_pushed_after_a_pod_is_admitted(
    viewer: Any, sandbox_hub: WatchHub, cluster: Cluster, kube_sandbox: SandboxProcess, seed_namespace: str
) -> None:
    cookie = await sync_to_async(_session_cookie)(viewer)
    path = f"/ws/quotas/?cluster={cluster.name}&namespace={seed_namespace}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    try:
        first = await _receive_until(communicator, 'data-resource="requests.cpu" data-used="0" data-hard="1"')
        assert 'id="quota-usage" hx-swap-oob="true"' in first and 'id="held-back" hx-swap-oob="true"' in first
        assert 'id="limitrange-editor"' not in first  # never wipe what someone is typing
        await asyncio.to_thread(kube_sandbox.kubectl, "apply", "-n", seed_namespace, "-f", "-", input=POD)
        pushed = await _receive_until(
            communicator, 'data-resource="requests.cpu" data-used="250m" data-hard="1"'
        )
        assert 'data-resource="limits.memory" data-used="256Mi" data-hard="2Gi"' in pushed
    finally:
        await communicator.disconnect()
