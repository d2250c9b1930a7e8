"""Protobuf request bodies (application/vnd.kubernetes.protobuf) against a real sandbox.

Bodies are built here with a small proto2 writer, independent of the server's reader; kubectl's own
protobuf bodies are covered in test_kubectl.py.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.conftest import SandboxProcess

PB = "application/vnd.kubernetes.protobuf"


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def vfield(num: int, n: int) -> bytes:
    return varint(num << 3) + varint(n)


def lfield(num: int, data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return varint(num << 3 | 2) + varint(len(raw)) + raw


def entry(num: int, key: str, value: bytes | str) -> bytes:
    return lfield(num, lfield(1, key) + lfield(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + lfield(1, lfield(1, api_version) + lfield(2, kind)) + lfield(2, raw)


def post(sandbox: SandboxProcess, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    resp = sandbox.request("POST", path, body, content_type=PB)
    return resp.status, json.loads(resp.data)


def test_configmap_and_deployment_decode_like_json(sandbox: SandboxProcess, namespace: str) -> None:
    meta = lfield(1, "pb") + entry(11, "tier", "x") + entry(12, "note", "") + lfield(14, "example.com/keep")
    # field 99 is unknown to ConfigMap: skipped, as for a newer client
    cm = lfield(1, meta) + entry(2, "a", "1") + entry(3, "bin", b"\x00\xff") + lfield(99, "junk")
    status, made = post(
        sandbox, f"/api/v1/namespaces/{namespace}/configmaps", envelope("v1", "ConfigMap", cm)
    )
    assert status == 201, made
    assert made["data"] == {"a": "1"} and made["binaryData"] == {"bin": "AP8="}
    assert made["metadata"]["labels"] == {"tier": "x"}
    assert made["metadata"]["annotations"] == {"note": ""}
    assert made["metadata"]["finalizers"] == ["example.com/keep"]
    sandbox.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/pb",
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )

    labels = entry(1, "app", "zero")  # LabelSelector.matchLabels
    container = lfield(1, "c") + lfield(2, "busybox") + lfield(3, "sleep") + lfield(3, "60")
    template = lfield(1, entry(11, "app", "zero")) + lfield(2, lfield(2, container))
    max_surge = lfield(2, vfield(1, 1) + lfield(3, "50%"))  # IntOrString{type: String}
    strategy = lfield(1, "RollingUpdate") + lfield(2, max_surge)
    # replicas is a pointer: an explicit 0 must stay 0, not default to 1
    spec = vfield(1, 0) + lfield(2, labels) + lfield(3, template) + lfield(4, strategy)
    deploy = lfield(1, lfield(1, "zero")) + lfield(2, spec)
    status, made = post(
        sandbox,
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        envelope("apps/v1", "Deployment", deploy),
    )
    assert status == 201, made
    assert made["spec"]["replicas"] == 0
    assert made["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "50%"
    assert made["spec"]["template"]["spec"]["containers"][0]["command"] == ["sleep", "60"]


def test_415_lists_protobuf_only_where_it_is_decoded(sandbox: SandboxProcess, namespace: str) -> None:
    resp = sandbox.request(
        "POST", f"/api/v1/namespaces/{namespace}/configmaps", b"x", content_type="text/plain"
    )
    assert resp.status == 415
    assert json.loads(resp.data)["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    )
    # LimitRange has no protobuf schema here: refused, and protobuf is not advertised.
    limits = envelope("v1", "LimitRange", lfield(1, lfield(1, "l")))
    resp = sandbox.request("POST", f"/api/v1/namespaces/{namespace}/limitranges", limits, content_type=PB)
    assert resp.status == 415
    status = json.loads(resp.data)
    assert status["reason"] == "UnsupportedMediaType"
    assert status["message"].endswith("accepted media types include: application/json, application/yaml")
    # A kind the endpoint does not serve, in a protobuf body: the JSON path's kind check.
    secret = envelope("v1", "Secret", lfield(1, lfield(1, "s")))
    status_code, body = post(sandbox, f"/api/v1/namespaces/{namespace}/configmaps", secret)
    assert status_code == 400 and "does not match the expected kind" in body["message"]


def _collection_state(sandbox: SandboxProcess, path: str) -> list[tuple[str, str]]:
    items = json.loads(sandbox.request("GET", path).data)["items"]
    return [(o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in items]


# Fragments that make the reader go deep: valid envelopes around random payloads, random tags, lengths.
_fragments = st.one_of(
    st.binary(max_size=40),
    st.builds(lfield, st.integers(1, 20), st.binary(max_size=30)),
    st.builds(vfield, st.integers(1, 20), st.integers(0, 2**64 - 1)),
)
_payloads = st.lists(_fragments, max_size=6).map(b"".join)
_bodies = st.one_of(
    st.binary(max_size=200),
    _payloads.map(lambda raw: envelope("v1", "ConfigMap", raw)),
    _payloads.map(lambda raw: envelope("v1", "ConfigMap", lfield(1, raw))),
    _payloads.map(lambda raw: b"k8s\x00" + raw),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies)
def test_arbitrary_protobuf_bodies_are_4xx_never_500(sandbox: SandboxProcess, body: bytes) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    before = _collection_state(sandbox, path)
    resp = sandbox.request("POST", path + "?dryRun=All", body, content_type=PB)
    assert resp.status < 500, resp.data
    assert resp.status in (201, 400, 409, 415, 422), resp.data
    assert json.loads(resp.data)["kind"] in ("Status", "ConfigMap")
    assert _collection_state(sandbox, path) == before
