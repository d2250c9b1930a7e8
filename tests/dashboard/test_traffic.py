"""The traffic view without a browser: role checks on the probe actions, and the live socket's frames
from a real probe (against a closed port, so every request fails for real and is counted as such)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from dashboard import probes, services
from dashboard.probe.engine import ProbeTarget

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    yield
    probes.reset_registry()  # stop every probe this test started, and the probe thread


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: connections are refused


def test_viewer_is_refused_every_probe_action(viewer: Any) -> None:
    client = Client(enforce_csrf_checks=False)
    client.force_login(viewer)
    page = client.get("/traffic/")
    assert page.status_code == 200
    assert b"Your role is viewer" in page.content
    for path, data in (
        (
            "/traffic/probes/start",
            {"kind": "grpc", "balancing": "pick_first", "address": "127.0.0.1:1", "rate": "5"},
        ),
        ("/traffic/probes/rate", {"key": "x", "rate": "5"}),
        ("/traffic/probes/stop", {"key": "x"}),
    ):
        response = client.post(path, data)
        assert response.status_code == 403, path
    assert probes.current_registry() is None  # nothing was started on a viewer's behalf


def test_operator_gets_reasons_for_bad_targets(operator: Any) -> None:
    client = Client()
    client.force_login(operator)
    bad = {"kind": "grpc", "balancing": "round_robin", "address": "no-port-here", "rate": "5"}
    response = client.post("/traffic/probes/start", bad, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"port" in response.content
    response = client.post("/traffic/probes/start", bad | {"address": "127.0.0.1:1", "rate": "5000"})
    assert response.status_code == 302
    assert probes.current_registry() is None


async def test_anonymous_traffic_socket_is_closed_with_4401() -> None:
    communicator = WebsocketCommunicator(application, "/ws/traffic/?probe=x", headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.wait()


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def test_socket_streams_frames_of_a_real_probe(operator: Any) -> None:
    target = ProbeTarget(kind="grpc", balancing="pick_first", address=f"127.0.0.1:{_closed_port()}")
    status = await sync_to_async(services.probe_start)(target=target, rate=20, actor=operator)
    cookie = await sync_to_async(_session_cookie)(operator)
    communicator = WebsocketCommunicator(
        application, f"/ws/traffic/?probe={status.key}", headers=[ORIGIN, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    first = json.loads(await communicator.receive_from(timeout=5))
    assert first["exists"] and first["key"] == status.key
    frame: dict[str, Any] = {}
    for _ in range(40):  # bounded: frames come at 4 Hz and when a second closes
        frame = json.loads(await communicator.receive_from(timeout=5))
        if "closed" in frame and frame["status"]["failed"] > 0:
            break
    assert "closed" in frame, "no frame announced a closed second"
    assert frame["status"]["running"] and frame["status"]["answered"] == 0
    assert frame["bars"] == []  # nobody answered, so no pod has a bar
    assert frame["recent"]["failed"] > 0 and frame["recent"]["errors_by_code"]
    assert len(frame["series"]["t"]) == len(frame["series"]["rps"]) == 60  # uPlot's columns
    await communicator.disconnect()
    metrics = await sync_to_async(Client().get)("/metrics")
    assert b"switchyard_probe_requests_total" in metrics.content  # the probe's figures on /metrics


def test_probe_actions_are_audited(operator: Any) -> None:
    from dashboard.models import ClusterAction

    client = Client()
    client.force_login(operator)
    start = {"kind": "grpc", "balancing": "pick_first", "address": f"127.0.0.1:{_closed_port()}", "rate": "5"}
    try:
        assert client.post("/traffic/probes/start", start).status_code == 302
        (started,) = ClusterAction.objects.filter(action="probe-start")
        key = started.target
        assert client.post("/traffic/probes/rate", {"key": key, "rate": "7"}).status_code == 302
        assert client.post("/traffic/probes/stop", {"key": key}).status_code == 302
        rows = list(ClusterAction.objects.order_by("id").values_list("action", "target", "after", "result"))
        assert rows == [
            ("probe-start", key, {"rate": 5.0}, "applied"),
            ("probe-rate", key, {"rate": 7.0}, "applied"),
            ("probe-stop", key, None, "applied"),
        ]
        assert {r.actor for r in ClusterAction.objects.all()} == {operator.get_username()}
    finally:
        probes.reset_registry()
