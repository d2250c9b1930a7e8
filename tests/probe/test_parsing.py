"""Reading who answered, from each of the three forms a greet answer takes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.probe.parsing import (
    UNPARSEABLE,
    Answer,
    ParseError,
    parse_answer,
    parse_gateway_json,
    parse_greet_response,
    parse_result_line,
)
from greet.gen.greet.v1 import greet_pb2
from greet.server import PodIdentity, result_line

SEED_LINE = (
    "reponse from Greet rpc: Hello, Hitesh Pattanayak from pod: "
    "name(greetserver-deploy-6f9c7d9b8-x2x7q), ip(10.244.1.7)."
)


def test_the_seed_line_names_pod_and_ip() -> None:
    assert parse_answer(SEED_LINE + "\n") == Answer("greetserver-deploy-6f9c7d9b8-x2x7q", "10.244.1.7", None)


def test_names_that_look_like_the_pod_part_do_not_confuse_it() -> None:
    line = (
        "reponse from Greet rpc: Hello, x from pod: name(fake), ip(1.1.1.1). y from pod: name(real), ip(::1)."
    )
    assert parse_result_line(line) == Answer("real", "::1", None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello, Hitesh",
        "response from Greet rpc: Hello, A B from pod: name(p), ip(1.2.3.4).",  # the seed misspells it
        SEED_LINE.removesuffix("."),
        SEED_LINE.replace("ip(10.244.1.7)", "ip()"),
        "<html>502 Bad Gateway</html>",
    ],
)
def test_malformed_text_is_a_parse_error_counted_as_unparseable(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_answer(text)
    assert caught.value.code == UNPARSEABLE == "unparseable"


def test_gateway_json_pod_object_wins_and_carries_the_version() -> None:
    body = {
        "result": SEED_LINE,
        "greeting": "Hello",
        "pod": {"name": "green-1", "ip": "10.0.0.9", "version": "v2"},
    }
    assert parse_answer(json.dumps(body).encode()) == Answer("green-1", "10.0.0.9", "v2")
    assert parse_gateway_json(body) == Answer("green-1", "10.0.0.9", "v2")


@pytest.mark.parametrize("version", ["", "unknown", None])
def test_a_server_that_was_not_told_its_version_gives_none(version: str | None) -> None:
    pod = {"name": "p", "ip": "10.0.0.1"} | ({"version": version} if version is not None else {})
    assert parse_gateway_json({"pod": pod}).version is None


def test_gateway_json_without_pod_falls_back_to_the_result_line() -> None:
    assert parse_gateway_json({"result": SEED_LINE}).pod_name == "greetserver-deploy-6f9c7d9b8-x2x7q"


@pytest.mark.parametrize(
    "body",
    [
        '{"result": 1}',
        "[1, 2]",
        '{"pod": {"name": ""}}',
        "{not json",
        b"\xff\xfe",
        '{"error": {"code": "UNAVAILABLE"}}',
    ],
)
def test_malformed_json_is_a_parse_error(body: str | bytes) -> None:
    with pytest.raises(ParseError):
        parse_answer(body)


def test_grpc_response_uses_the_pod_message() -> None:
    response = greet_pb2.GreetResponse(
        result=SEED_LINE, pod=greet_pb2.Pod(name="blue-2", ip="10.1.0.2", version="blue")
    )
    assert parse_answer(response) == Answer("blue-2", "10.1.0.2", "blue")


def test_grpc_response_without_pod_message_reads_the_result_line() -> None:
    assert parse_greet_response(greet_pb2.GreetResponse(result=SEED_LINE)).pod_ip == "10.244.1.7"
    with pytest.raises(ParseError):
        parse_greet_response(greet_pb2.GreetResponse(result="hi"))


POD_NAMES = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?(\.[a-z0-9]{1,10})?\Z")
IPS = st.ip_addresses().map(str)
NAMES = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)


@given(pod=POD_NAMES, ip=IPS, first=NAMES, last=NAMES)
def test_what_the_real_server_writes_parses_back(pod: str, ip: str, first: str, last: str) -> None:
    line = result_line("Greet", f"{first} {last}".rstrip(), PodIdentity(pod, ip, "v1"))
    assert parse_answer(line) == Answer(pod, ip, None)
