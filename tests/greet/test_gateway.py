"""The REST gateway's HTTP contract: answers, errors, health and metrics."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.greet.conftest import GREETING, Fleet

SEED_TEXT = re.compile(
    r"^reponse from Greet rpc: Hello, Hitesh Pattanayak from pod: name\(greetserver-\d\), ip\(127\.0\.0\.\d\)\.\n$"
)


async def post(url: str, **kwargs: Any) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.post(f"{url}/greet", **kwargs) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_text_answer_by_default(fleet: Fleet) -> None:
    status, content_type, body = await post(fleet.gateways["lookaside_watch"], json=GREETING)
    assert status == 200
    assert content_type.startswith("text/plain")
    assert SEED_TEXT.match(body), body


async def test_json_answer_when_accepted(fleet: Fleet) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fleet.gateways['round_robin']}/greet", json=GREETING, headers={"Accept": "application/json"}
        ) as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["pod"]["name"] in {"greetserver-1", "greetserver-2", "greetserver-3"}
    assert body["pod"]["ip"] in {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert body["pod"]["version"] == "v1"
    assert body["result"].endswith(f"name({body['pod']['name']}), ip({body['pod']['ip']}).")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"last_name": "Pattanayak"}, "first_name"),
        ({"first_name": "Hitesh"}, "last_name"),
        ({"first_name": 7, "last_name": "Pattanayak"}, "first_name"),
        ({"first_name": "", "last_name": "Pattanayak"}, "first_name"),  # rejected by the server
        ({"first_name": "Hitesh", "last_name": "x" * 300}, "last_name"),  # rejected by the server
    ],
)
async def test_bad_input_is_400_naming_the_field(fleet: Fleet, payload: dict[str, Any], field: str) -> None:
    status, content_type, body = await post(fleet.gateways["lookaside_watch"], json=payload)
    assert status == 400
    assert content_type.startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["field"] == field
    assert field in error["message"]


async def test_malformed_json_is_400(fleet: Fleet) -> None:
    status, _, body = await post(
        fleet.gateways["round_robin"],
        data=b'{"first_name": "Hit',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert "not valid JSON" in body


async def test_healthz(fleet: Fleet) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fleet.gateways['pick_first']}/healthz") as r,
    ):
        assert r.status == 200


async def gateway_counts(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    return {
        f"{s.labels['status']}/{s.labels['pod']}": s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "greet_gateway_requests_total"
    }


async def test_metrics_count_what_was_sent(fleet: Fleet) -> None:
    url = fleet.gateways["lookaside_watch"]
    before_counts = await gateway_counts(url)
    async with aiohttp.ClientSession() as session:
        for _ in range(12):
            async with session.post(f"{url}/greet", json=GREETING) as response:
                assert response.status == 200
        async with session.post(f"{url}/greet", json={"first_name": "x"}) as response:
            assert response.status == 400
    after = await gateway_counts(url)
    delta = {k: after[k] - before_counts.get(k, 0) for k in after}
    ok = {k: v for k, v in delta.items() if k.startswith("200/") and v}
    assert sum(ok.values()) == 12
    assert len(ok) == 3  # the watch variant spread them over the three pods
    assert delta["400/"] == 1


def test_flags_win_over_the_seed_environment() -> None:
    from greet.gateway import parse_args

    env = {
        "GRPC_SERVER_HOST": "greetserver.default.svc.cluster.local",
        "GRPC_SVC": "greetserver",
        "POD_NAMESPACE": "shop",
        "DNS_SERVER": "10.96.0.10:53",
        "GRPC_BALANCING": "round_robin",
    }
    from_env = parse_args([], env)
    assert (from_env.balancing, from_env.server_host, from_env.server_port) == (
        "round_robin",
        "greetserver.default.svc.cluster.local",
        50051,
    )
    assert (from_env.service, from_env.namespace, from_env.dns_server) == (
        "greetserver",
        "shop",
        "10.96.0.10:53",
    )
    flagged = parse_args(
        ["--balancing", "lookaside", "--namespace", "default", "--lookaside-variant", "resolve"], env
    )
    assert (flagged.balancing, flagged.namespace, flagged.lookaside_variant) == (
        "lookaside",
        "default",
        "resolve",
    )
