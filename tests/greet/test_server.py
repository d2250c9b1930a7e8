"""The Greet server as a client sees it: streaming RPCs, validation, health, reflection, metrics."""

from __future__ import annotations

import asyncio
import re
import signal
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from greet.gen.greet.v1 import greet_pb2, greet_pb2_grpc
from tests.greet.conftest import Fleet, free_port, spawn, wait_listening

RESULT = re.compile(r"^reponse from (\w+) rpc: Hello, (.+) from pod: name\(([^)]*)\), ip\(([^)]*)\)\.$")


def greeting(first: str = "Hitesh", last: str = "Pattanayak") -> greet_pb2.Greeting:
    return greet_pb2.Greeting(first_name=first, last_name=last)


@pytest.fixture
async def stub(fleet: Fleet) -> AsyncIterator[greet_pb2_grpc.GreetServiceStub]:
    async with grpc.aio.insecure_channel(fleet.server_addresses["greetserver-2"]) as channel:
        yield greet_pb2_grpc.GreetServiceStub(channel)


async def test_greet_answers_in_the_seed_format_with_identity(stub: greet_pb2_grpc.GreetServiceStub) -> None:
    response = await stub.Greet(greet_pb2.GreetRequest(greeting=greeting()), timeout=5)
    assert response.result == (
        "reponse from Greet rpc: Hello, Hitesh Pattanayak from pod: name(greetserver-2), ip(127.0.0.3)."
    )
    assert (response.pod.name, response.pod.ip, response.pod.version) == ("greetserver-2", "127.0.0.3", "v1")


async def test_server_streaming_carries_identity(stub: greet_pb2_grpc.GreetServiceStub) -> None:
    call = stub.GreetManyTimes(greet_pb2.GreetManyTimesRequest(greeting=greeting(), times=4), timeout=5)
    responses = [r async for r in call]
    assert [r.index for r in responses] == [0, 1, 2, 3]
    for response in responses:
        assert response.pod.name == "greetserver-2"
        match = RESULT.match(response.result)
        assert match and match.groups() == (
            "GreetManyTimes",
            "Hitesh Pattanayak",
            "greetserver-2",
            "127.0.0.3",
        )


async def test_client_streaming_greets_everyone_sent(stub: greet_pb2_grpc.GreetServiceStub) -> None:
    names = [("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper")]

    async def requests() -> AsyncIterator[greet_pb2.LongGreetRequest]:
        for first, last in names:
            yield greet_pb2.LongGreetRequest(greeting=greeting(first, last))

    response = await stub.LongGreet(requests(), timeout=5)
    assert response.count == 3
    assert response.pod.ip == "127.0.0.3"
    assert "Ada Lovelace, Alan Turing, Grace Hopper" in response.result


async def test_bidi_streaming_answers_each_message(stub: greet_pb2_grpc.GreetServiceStub) -> None:
    call = stub.GreetEveryone(timeout=5)
    answers = []
    for first in ("Ada", "Alan"):
        await call.write(greet_pb2.GreetEveryoneRequest(greeting=greeting(first, "X")))
        answers.append(await call.read())
    await call.done_writing()
    assert [a.greeting for a in answers] == ["Hello, Ada X", "Hello, Alan X"]
    assert {a.pod.name for a in answers} == {"greetserver-2"}


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [("", "Pattanayak", "greeting.first_name"), ("Hitesh", "x" * 300, "greeting.last_name")],
)
async def test_invalid_input_is_invalid_argument_naming_the_field(
    stub: greet_pb2_grpc.GreetServiceStub, first: str, last: str, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Greet(greet_pb2.GreetRequest(greeting=greeting(first, last)), timeout=5)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in (caught.value.details() or "")


async def list_services(address: str) -> set[str]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(timeout=5)
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        response = await call.read()
        await call.done_writing()
        return {s.name for s in response.list_services_response.service}


async def test_reflection_lists_the_services(fleet: Fleet) -> None:
    assert {"greet.v1.GreetService", "grpc.health.v1.Health"} <= await list_services(
        fleet.server_addresses["greetserver-1"]
    )
    assert {"lookaside.v1.LookasideService", "grpc.health.v1.Health"} <= await list_services(fleet.lookaside)


def scrape(port: int, host: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_handled_rpcs_by_method_and_code(
    fleet: Fleet, stub: greet_pb2_grpc.GreetServiceStub
) -> None:
    ok = (
        "grpc_server_handled_total",
        frozenset({("grpc_service", "greet.v1.GreetService"), ("grpc_method", "Greet"), ("grpc_code", "OK")}),
    )
    bad = (
        "grpc_server_handled_total",
        frozenset(
            {
                ("grpc_service", "greet.v1.GreetService"),
                ("grpc_method", "Greet"),
                ("grpc_code", "INVALID_ARGUMENT"),
            }
        ),
    )
    latency = (
        "grpc_server_handling_seconds_count",
        frozenset({("grpc_service", "greet.v1.GreetService"), ("grpc_method", "Greet")}),
    )
    port = fleet.metrics_ports["greetserver-2"]
    before = scrape(port, "127.0.0.3")
    for _ in range(7):
        await stub.Greet(greet_pb2.GreetRequest(greeting=greeting()), timeout=5)
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Greet(greet_pb2.GreetRequest(greeting=greeting("")), timeout=5)
    after = scrape(port, "127.0.0.3")
    assert after[ok] - before.get(ok, 0) == 7
    assert after[bad] - before.get(bad, 0) == 2
    assert after[latency] - before.get(latency, 0) == 9


async def test_health_turns_not_serving_on_sigterm_before_the_server_stops(tmp_path: Path) -> None:
    port = free_port("127.0.0.5")
    proc = spawn(
        "drain",
        ["greet.server", "--listen", f"127.0.0.5:{port}", "--drain-delay", "1", "--grace", "1"],
        tmp_path,
    )
    try:
        wait_listening("127.0.0.5", port, proc)
        async with grpc.aio.insecure_channel(f"127.0.0.5:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            watch = health.Watch(health_pb2.HealthCheckRequest(service="greet.v1.GreetService"), timeout=15)
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
            proc.popen.send_signal(signal.SIGTERM)
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
            assert proc.popen.poll() is None  # still up: draining, not gone
            check = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING
            # In-flight and new calls are still answered while draining.
            greet = greet_pb2_grpc.GreetServiceStub(channel)
            assert (await greet.Greet(greet_pb2.GreetRequest(greeting=greeting()), timeout=5)).result
        assert await asyncio.to_thread(proc.popen.wait, 15) == 0
    finally:
        proc.stop(signal.SIGKILL)
