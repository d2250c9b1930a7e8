"""Property: whatever malformed input the server gets, it answers below 500 and a rejected request
changes nothing (the global resourceVersion and the target object stay as they were)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.conftest import SandboxProcess

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
# Objects shaped like Kubernetes objects, with wrong types or junk in the places that matter.
field_names = st.sampled_from(
    [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "status",
        "data",
        "name",
        "labels",
        "selector",
        "template",
        "containers",
        "ports",
        "replicas",
        "$patch",
        "$retainKeys",
    ]
)
shaped = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(field_names, inner, max_size=5),
    max_leaves=25,
)
COLLECTIONS = [
    "/api/v1/namespaces/default/configmaps",
    "/api/v1/namespaces/default/services",
    "/api/v1/namespaces/default/pods",
    "/apis/apps/v1/namespaces/default/deployments",
    "/api/v1/namespaces",
    "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
]
TARGET = "/apis/apps/v1/namespaces/default/deployments/fuzz-target"


def _rv(sandbox: SandboxProcess) -> str:
    body = json.loads(sandbox.request("GET", "/api/v1/namespaces?limit=1").data)
    return str(body["metadata"]["resourceVersion"])


def _ensure_target(sandbox: SandboxProcess) -> bytes:
    resp = sandbox.request("GET", TARGET)
    if resp.status == 404:
        made = sandbox.request(
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "fuzz-target", "labels": {"a": "b"}},
                "spec": {
                    "selector": {"matchLabels": {"app": "f"}},
                    "template": {
                        "metadata": {"labels": {"app": "f"}},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                    },
                },
            },
        )
        assert made.status == 201, made.data
        resp = sandbox.request("GET", TARGET)
    return bytes(resp.data)


def _check(resp: Any, before_rv: str, sandbox: SandboxProcess) -> None:
    assert resp.status < 500, (resp.status, resp.data[:500])
    if resp.status >= 400:
        body = json.loads(resp.data)
        assert body["kind"] == "Status" and body["code"] == resp.status
        assert _rv(sandbox) == before_rv, "a rejected request wrote something"


@SETTINGS
@given(
    path=st.sampled_from(COLLECTIONS),
    body=st.binary(max_size=200),
    ctype=st.sampled_from(["application/json", "application/yaml", "text/plain", ""]),
)
def test_raw_bytes_bodies(sandbox: SandboxProcess, path: str, body: bytes, ctype: str) -> None:
    before = _rv(sandbox)
    _check(sandbox.request("POST", path, body, content_type=ctype or None), before, sandbox)


@SETTINGS
@given(path=st.sampled_from(COLLECTIONS), body=shaped | json_values)
def test_malformed_objects_never_500(sandbox: SandboxProcess, path: str, body: Any) -> None:
    if isinstance(body, dict):
        body.setdefault("metadata", {"name": "fuzz-made"})
    before = _rv(sandbox)
    resp = sandbox.request("POST", path, json.dumps(body))
    _check(resp, before, sandbox)
    if resp.status < 300:  # the fuzzer built a valid object; remove it again
        name = json.loads(resp.data)["metadata"]["name"]
        assert sandbox.request("DELETE", f"{path}/{name}?gracePeriodSeconds=0").status < 300


@SETTINGS
@given(
    patch=shaped | json_values,
    ctype=st.sampled_from(
        [
            "application/strategic-merge-patch+json",
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/apply-patch+yaml",
        ]
    ),
)
def test_malformed_patches_leave_the_object_alone(sandbox: SandboxProcess, patch: Any, ctype: str) -> None:
    original = _ensure_target(sandbox)
    before = _rv(sandbox)
    resp = sandbox.request("PATCH", TARGET + "?fieldManager=fuzz", json.dumps(patch), content_type=ctype)
    _check(resp, before, sandbox)
    if resp.status >= 400:
        assert bytes(sandbox.request("GET", TARGET).data) == original
    else:
        sandbox.request("DELETE", TARGET)


@SETTINGS
@given(
    label=st.text(max_size=30),
    field=st.text(max_size=30),
    extra=st.dictionaries(
        st.sampled_from(
            [
                "limit",
                "continue",
                "resourceVersion",
                "timeoutSeconds",
                "fieldValidation",
                "dryRun",
                "propagationPolicy",
                "gracePeriodSeconds",
            ]
        ),
        st.text(max_size=8),
        max_size=3,
    ),
)
def test_selectors_and_query_parameters(
    sandbox: SandboxProcess, label: str, field: str, extra: dict[str, str]
) -> None:
    from urllib.parse import urlencode

    before = _rv(sandbox)
    query = urlencode({"labelSelector": label, "fieldSelector": field, **extra})
    for method, path in (
        ("GET", "/api/v1/namespaces/default/pods"),
        ("DELETE", "/api/v1/namespaces/default/configmaps"),
        ("GET", "/api/v1/namespaces/default/events"),
    ):
        resp = sandbox.request(method, f"{path}?{query}")
        assert resp.status < 500, (resp.status, resp.data[:300])
        if resp.status >= 400:
            assert _rv(sandbox) == before
