"""Kill one server mid-traffic: round_robin and lookaside keep answering from the other two."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterator

import aiohttp
import pytest

from tests.greet.conftest import GREETING, Fleet, start_fleet

MODES = ("round_robin", "lookaside_watch", "lookaside_resolve")
CALLS_PER_MODE = 450
CONCURRENCY = 6
KILL_AFTER = 150  # completed calls per mode before the kill


@pytest.fixture(scope="module")
def doomed_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = start_fleet(tmp_path_factory.mktemp("greet-failover"), MODES)
    yield fleet
    fleet.stop()


async def warm_up(session: aiohttp.ClientSession, url: str) -> None:
    seen: set[str] = set()
    for _ in range(100):
        async with session.post(f"{url}/greet", json=GREETING, headers={"Accept": "application/json"}) as r:
            seen.add((await r.json())["pod"]["name"])
        if len(seen) == 3:
            return
    raise AssertionError(f"only {seen} answered {url}")


async def test_killing_a_server_mid_traffic_costs_at_most_the_calls_in_flight(doomed_fleet: Fleet) -> None:
    victim = "greetserver-2"
    completed = Counter[str]()
    answered_after_kill: dict[str, Counter[str]] = {mode: Counter() for mode in MODES}
    failures: dict[str, list[str]] = {mode: [] for mode in MODES}
    killed = asyncio.Event()
    all_reached_kill_point = asyncio.Event()

    async def traffic(session: aiohttp.ClientSession, mode: str) -> None:
        url = doomed_fleet.gateways[mode]
        queue = iter(range(CALLS_PER_MODE))

        async def worker() -> None:
            for _ in queue:
                if completed[mode] >= KILL_AFTER and not killed.is_set():
                    await all_reached_kill_point.wait()
                kill_seen_at_start = killed.is_set()
                async with session.post(
                    f"{url}/greet", json=GREETING, headers={"Accept": "application/json"}
                ) as response:
                    if response.status != 200:
                        failures[mode].append(f"{response.status} {await response.text()}")
                    elif kill_seen_at_start:
                        answered_after_kill[mode][(await response.json())["pod"]["name"]] += 1
                completed[mode] += 1
                if all(completed[m] >= KILL_AFTER for m in MODES):
                    all_reached_kill_point.set()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    async def killer() -> None:
        await all_reached_kill_point.wait()
        doomed_fleet.servers[victim].stop(signal.SIGKILL)
        killed.set()

    async with aiohttp.ClientSession() as session:
        for mode in MODES:
            await warm_up(session, doomed_fleet.gateways[mode])
        await asyncio.wait_for(
            asyncio.gather(killer(), *(traffic(session, mode) for mode in MODES)), timeout=120
        )

    print({mode: (len(failures[mode]), dict(answered_after_kill[mode])) for mode in MODES})
    for mode in MODES:
        assert completed[mode] == CALLS_PER_MODE
        # Only calls already on the wire to the dead pod may fail (and the gateway retries those).
        assert len(failures[mode]) <= CONCURRENCY, (mode, failures[mode])
        survivors = answered_after_kill[mode]
        assert victim not in survivors, (mode, survivors)
        assert set(survivors) == {"greetserver-1", "greetserver-3"}, (mode, survivors)
        # The dead pod's share is spread over both survivors, not dumped on one of them.
        assert min(survivors.values()) >= 0.4 * sum(survivors.values()), (mode, survivors)
