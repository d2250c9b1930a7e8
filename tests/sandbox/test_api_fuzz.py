"""Property: whatever malformed input the server gets, it answers below 500 and a rejected request
changes nothing: the collection it aimed at holds the same objects, and a patched target is unchanged.

Controllers run inside the sandbox and write all the time (node heartbeats, deployment status), so the
checks look at the objects a request could touch, not at the global resourceVersion.
"""

from __future__ import annotations

import json
import time
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
# A ClusterIP Service selecting nothing: strategic merge by port key, and no controller writes it.
TARGET = "/api/v1/namespaces/default/services/fuzz-target"


def _state(sandbox: SandboxProcess, path: str) -> list[tuple[str, str]]:
    """(name, resourceVersion) of every object in a collection."""
    body = json.loads(sandbox.request("GET", path).data)
    return [(o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in body["items"]]


def _ensure_target(sandbox: SandboxProcess) -> bytes:
    resp = sandbox.request("GET", TARGET)
    if resp.status == 404:
        made = sandbox.request(
            "POST",
            "/api/v1/namespaces/default/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "fuzz-target", "labels": {"a": "b"}},
                "spec": {"selector": {"app": "fuzz-nothing"}, "ports": [{"name": "http", "port": 80}]},
            },
        )
        assert made.status == 201, made.data
        resp = sandbox.request("GET", TARGET)
    return bytes(resp.data)


def _check(resp: Any, before: list[tuple[str, str]], sandbox: SandboxProcess, path: str) -> None:
    assert resp.status < 500, (resp.status, resp.data[:500])
    if resp.status >= 400:
        body = json.loads(resp.data)
        assert body["kind"] == "Status" and body["code"] == resp.status
        # A rejected POST must not have created anything. (Objects may still go away meanwhile: earlier
        # tests' namespaces finish terminating in the background, and their status writes move rvs.)
        created = {name for name, _ in _state(sandbox, path)} - {name for name, _ in before}
        assert not created, f"a rejected request wrote something: {created}"


@SETTINGS
@given(
    path=st.sampled_from(COLLECTIONS),
    body=st.binary(max_size=200),
    ctype=st.sampled_from(["application/json", "application/yaml", "text/plain", ""]),
)
def test_raw_bytes_bodies(sandbox: SandboxProcess, path: str, body: bytes, ctype: str) -> None:
    before = _state(sandbox, path)
    _check(sandbox.request("POST", path, body, content_type=ctype or None), before, sandbox, path)


@SETTINGS
@given(path=st.sampled_from(COLLECTIONS), body=shaped | json_values)
def test_malformed_objects_never_500(sandbox: SandboxProcess, path: str, body: Any) -> None:
    if isinstance(body, dict):
        body.setdefault("metadata", {"name": "fuzz-made"})
    before = _state(sandbox, path)
    resp = sandbox.request("POST", path, json.dumps(body))
    _check(resp, before, sandbox, path)
    if resp.status < 300:  # the fuzzer built a valid object; remove it again
        name = json.loads(resp.data)["metadata"]["name"]
        assert sandbox.request("DELETE", f"{path}/{name}?gracePeriodSeconds=0").status < 300
        # A namespace goes only once the namespace controller has emptied it: wait, so that its
        # disappearance does not land inside the next example's before/after comparison.
        deadline = time.monotonic() + 10
        while sandbox.request("GET", f"{path}/{name}").status != 404 and time.monotonic() < deadline:
            time.sleep(0.05)


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
    resp = sandbox.request("PATCH", TARGET + "?fieldManager=fuzz", json.dumps(patch), content_type=ctype)
    assert resp.status < 500, (resp.status, resp.data[:500])
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

    # Secrets: a collection no controller writes to (the namespace controller re-creates kube-root-ca.crt
    # after a successful delete, which would race the comparison).
    secrets = "/api/v1/namespaces/default/secrets"
    if not _state(sandbox, secrets):  # something a wrongly accepted DELETE would remove
        made = sandbox.request(
            "POST", secrets, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fuzz-keep"}}
        )
        assert made.status == 201, made.data
    query = urlencode({"labelSelector": label, "fieldSelector": field, **extra})
    for method, path in (
        ("GET", "/api/v1/namespaces/default/pods"),
        ("DELETE", secrets),
        ("GET", "/api/v1/namespaces/default/events"),
    ):
        before = _state(sandbox, secrets)  # per request: an earlier, valid DELETE may have emptied it
        resp = sandbox.request(method, f"{path}?{query}")
        assert resp.status < 500, (resp.status, resp.data[:300])
        if resp.status >= 400:
            assert _state(sandbox, secrets) == before
