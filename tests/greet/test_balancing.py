"""How the gateway's balancing modes spread calls over three real server processes."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import grpc.aio
from scipy.stats import chisquare

from greet.gen.lookaside.v1 import lookaside_pb2, lookaside_pb2_grpc
from tests.greet.conftest import GREETING, Fleet

PODS = {"greetserver-1", "greetserver-2", "greetserver-3"}


async def greet_pods(base_url: str, calls: int, concurrency: int = 8) -> Counter[str]:
    """POST /greet ``calls`` times (JSON answers) and count the answering pods."""
    counts: Counter[str] = Counter()
    queue = iter(range(calls))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in queue:
            async with session.post(
                f"{base_url}/greet", json=GREETING, headers={"Accept": "application/json"}
            ) as response:
                assert response.status == 200, await response.text()
                counts[(await response.json())["pod"]["name"]] += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return counts


async def warm_up(base_url: str, pods: int = 3, limit: int = 200) -> None:
    """Call until ``pods`` distinct pods answered, so every subchannel or backend channel is connected."""
    seen: set[str] = set()
    for _ in range(limit):
        seen |= set(await greet_pods(base_url, 1, concurrency=1))
        if len(seen) >= pods:
            return


async def test_round_robin_spreads_300_calls_evenly(fleet: Fleet) -> None:
    url = fleet.gateways["round_robin"]
    await warm_up(url)
    counts = await greet_pods(url, 300)
    assert set(counts) == PODS
    assert all(99 <= n <= 101 for n in counts.values()), counts


async def test_pick_first_sends_everything_to_one_pod(fleet: Fleet) -> None:
    counts = await greet_pods(fleet.gateways["pick_first"], 300)
    assert len(counts) == 1, counts
    assert sum(counts.values()) == 300


async def test_lookaside_resolve_spreads_evenly(fleet: Fleet) -> None:
    url = fleet.gateways["lookaside_resolve"]
    await warm_up(url)
    counts = await greet_pods(url, 300)
    assert set(counts) == PODS
    assert all(99 <= n <= 101 for n in counts.values()), counts


async def test_lookaside_watch_spreads_evenly(fleet: Fleet) -> None:
    url = fleet.gateways["lookaside_watch"]
    await warm_up(url)
    counts = await greet_pods(url, 300)
    assert set(counts) == PODS
    assert all(99 <= n <= 101 for n in counts.values()), counts


async def test_random_routing_is_uniform(fleet: Fleet) -> None:
    request = lookaside_pb2.ResolveRequest(
        service="random-test", namespace="default", routing=lookaside_pb2.ROUTING_RANDOM
    )
    async with grpc.aio.insecure_channel(fleet.lookaside) as channel:
        stub = lookaside_pb2_grpc.LookasideServiceStub(channel)
        answers = [(await stub.Resolve(request, timeout=5)).address for _ in range(900)]
    counts = Counter(answers)
    assert set(counts) == set(fleet.server_addresses.values())
    # Not round robin in disguise: a strict rotation would give exactly 300 each.
    assert sorted(counts.values()) != [300, 300, 300] or answers[:3] != answers[3:6]
    assert chisquare(list(counts.values())).pvalue > 0.001, counts


async def test_watch_sends_backends_with_revision(fleet: Fleet) -> None:
    async with grpc.aio.insecure_channel(fleet.lookaside) as channel:
        stub = lookaside_pb2_grpc.LookasideServiceStub(channel)
        call = stub.Watch(lookaside_pb2.WatchRequest(service="greetserver", namespace="default"), timeout=5)
        first = await call.read()
        call.cancel()
    assert sorted(first.backends.addresses) == sorted(fleet.server_addresses.values())
    assert first.backends.revision >= 1
