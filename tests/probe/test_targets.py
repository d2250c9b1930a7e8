"""Probe targets: what makes two of them the same probe, and what is refused."""

from __future__ import annotations

import math

import pytest

from dashboard.probe.engine import ProbeTarget, clamp_rate


def test_key_names_the_traffic_path() -> None:
    assert (
        ProbeTarget(kind="gateway", url="http://127.0.0.1:9091/").key == "gateway http://127.0.0.1:9091/greet"
    )
    assert (
        ProbeTarget(kind="gateway", url="http://127.0.0.1:9091/greet").key
        == "gateway http://127.0.0.1:9091/greet"
    )
    watch = ProbeTarget(kind="grpc", balancing="lookaside", lookaside="127.0.0.1:50055")
    resolve = ProbeTarget(
        kind="grpc", balancing="lookaside", lookaside="127.0.0.1:50055", lookaside_variant="resolve"
    )
    assert watch.key != resolve.key
    assert watch.as_dict()["service"] == "greetserver"
    direct = ProbeTarget(kind="grpc", balancing="pick_first", address="127.0.0.2:50051")
    assert "lookaside" not in direct.as_dict() and direct.as_dict()["key"] == direct.key


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "gateway", "url": "127.0.0.1:9091"},
        {"kind": "grpc", "balancing": "random", "address": "127.0.0.2:50051"},
        {"kind": "grpc", "balancing": "round_robin", "address": "greetserver"},
        {
            "kind": "grpc",
            "balancing": "lookaside",
            "lookaside": "127.0.0.1:50055",
            "lookaside_variant": "poll",
        },
        {"kind": "grpc", "balancing": "lookaside", "lookaside": "127.0.0.1:50055", "service": ""},
        {"kind": "grpc", "balancing": "lookaside"},
        {"kind": "tcp"},
    ],
)
def test_incomplete_targets_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        ProbeTarget(**fields)  # type: ignore[arg-type]


def test_rate_is_clamped_to_one_to_a_thousand() -> None:
    assert [clamp_rate(r) for r in (-5, 0.2, 1, 250.5, 1000, 1e9)] == [1, 1, 1, 250.5, 1000, 1000]
    with pytest.raises(ValueError):
        clamp_rate(math.nan)
