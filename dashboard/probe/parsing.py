"""Who answered: a greet answer (seed text, the gateway's JSON, or a gRPC ``GreetResponse``) -> ``Answer``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greet.gen.greet.v1 import greet_pb2

# The error code under which an answer that cannot be read is counted.
UNPARSEABLE = "unparseable"

# The seed's wording, typo included ("reponse"). The names are free text, so the pod part is anchored
# at the end of the line: a greedy ``.*`` backtracks to the last " from pod: name(".
RESULT_LINE = re.compile(
    r"^reponse from (?P<rpc>\w+) rpc: Hello, (?P<names>.*) from pod: "
    r"name\((?P<name>[^()\s]+)\), ip\((?P<ip>[0-9A-Fa-f.:]+)\)\.$"
)

# What greet.server reports when it was not told its version (POD_VERSION unset).
NO_VERSION = ("", "unknown")


class ParseError(ValueError):
    """The answer does not say which pod sent it."""

    code = UNPARSEABLE


@dataclass(frozen=True)
class Answer:
    pod_name: str
    pod_ip: str
    version: str | None  # the server's own claim; the pod's labels (if known) take precedence


def _version(value: object) -> str | None:
    return value if isinstance(value, str) and value not in NO_VERSION else None


def parse_result_line(text: str) -> Answer:
    """``reponse from Greet rpc: Hello, A B from pod: name(p), ip(10.0.0.1).`` -> ``Answer(p, 10.0.0.1, None)``."""
    match = RESULT_LINE.match(text.strip())
    if match is None:
        raise ParseError(f"not a greet result line: {text[:120]!r}")
    return Answer(pod_name=match["name"], pod_ip=match["ip"], version=None)


def parse_gateway_json(body: Mapping[str, Any] | str | bytes) -> Answer:
    """The gateway's ``{"result": ..., "pod": {"name", "ip", "version"}}``; ``pod`` wins over ``result``."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ParseError(f"answer is not JSON: {error}") from error
    if not isinstance(body, Mapping):
        raise ParseError(f"answer is not a JSON object: {str(body)[:120]!r}")
    pod = body.get("pod")
    if isinstance(pod, Mapping):
        name, ip = pod.get("name"), pod.get("ip")
        if isinstance(name, str) and name and isinstance(ip, str) and ip:
            return Answer(pod_name=name, pod_ip=ip, version=_version(pod.get("version")))
    result = body.get("result")
    if isinstance(result, str):
        return parse_result_line(result)
    raise ParseError(f"answer names no pod: {json.dumps(body)[:120]!r}")


def parse_greet_response(response: greet_pb2.GreetResponse) -> Answer:
    if response.pod.name and response.pod.ip:
        return Answer(
            pod_name=response.pod.name, pod_ip=response.pod.ip, version=_version(response.pod.version)
        )
    return parse_result_line(response.result)


def parse_answer(answer: greet_pb2.GreetResponse | Mapping[str, Any] | str | bytes) -> Answer:
    """Any of the three forms; text that starts with ``{`` is taken as JSON."""
    if isinstance(answer, greet_pb2.GreetResponse):
        return parse_greet_response(answer)
    if isinstance(answer, bytes):
        try:
            answer = answer.decode()
        except UnicodeDecodeError as error:
            raise ParseError(f"answer is not UTF-8: {error}") from error
    if isinstance(answer, str) and not answer.lstrip().startswith("{"):
        return parse_result_line(answer)
    return parse_gateway_json(answer)
