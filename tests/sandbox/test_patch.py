from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.apiserver.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch


def _deploy(containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": containers}}}}


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


def test_service_port_merges_by_key_and_selector_keys_merge() -> None:
    svc = {"spec": {"ports": [{"port": 80, "name": "http"}], "selector": {"app": "blue", "name": "x"}}}
    out = strategic_merge_patch(
        svc, {"spec": {"ports": [{"port": 443}], "selector": {"app": "green"}}}, "services"
    )
    assert out["spec"]["ports"] == [{"port": 443}, {"port": 80, "name": "http"}]
    assert out["spec"]["selector"] == {"app": "green", "name": "x"}
    assert svc["spec"]["selector"]["app"] == "blue"  # input untouched


def test_merge_order_rules_from_notes() -> None:
    live = _deploy([{"name": "a"}, {"name": "b"}])
    assert [
        c["name"] for c in _containers(strategic_merge_patch(live, _deploy([{"name": "c"}]), "deployments"))
    ] == [
        "c",
        "a",
        "b",
    ]
    live = _deploy([{"name": "1"}, {"name": "2"}, {"name": "3"}])
    out = strategic_merge_patch(live, _deploy([{"name": "3"}, {"name": "1"}]), "deployments")
    assert [c["name"] for c in _containers(out)] == ["2", "3", "1"]


def test_nested_env_merges_inside_pod_template() -> None:
    live = _deploy([{"name": "app", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}])
    patch = _deploy(
        [{"name": "app", "env": [{"name": "B", "value": "3"}, {"name": "A", "$patch": "delete"}]}]
    )
    assert _containers(strategic_merge_patch(live, patch, "deployments.apps"))[0]["env"] == [
        {"name": "B", "value": "3"}
    ]


def test_replace_lists_and_null() -> None:
    live = _deploy([{"name": "app", "args": ["a", "b"], "image": "x"}])
    out = strategic_merge_patch(live, _deploy([{"name": "app", "args": ["c"], "image": None}]), "deployments")
    assert _containers(out) == [{"name": "app", "args": ["c"]}]


def test_finalizers_union_and_delete_from_primitive_list() -> None:
    live = {"metadata": {"finalizers": ["a", "b"]}}
    assert strategic_merge_patch(live, {"metadata": {"finalizers": ["c", "a"]}}, "pods")["metadata"][
        "finalizers"
    ] == [
        "c",
        "a",
        "b",
    ]
    out = strategic_merge_patch(
        {"metadata": {"finalizers": ["a", "b", "a"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
        "pods",
    )
    assert out["metadata"]["finalizers"] == ["b"]
    out = strategic_merge_patch(
        {"metadata": {}}, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, "pods"
    )
    assert out == {"metadata": {}}


def test_patch_replace_and_delete_directives() -> None:
    live = _deploy([{"name": "a"}, {"name": "b"}])
    assert _containers(strategic_merge_patch(live, _deploy([{"$patch": "replace"}]), "deployments")) == []
    assert _containers(
        strategic_merge_patch(live, _deploy([{"name": "z"}, {"$patch": "replace"}]), "deployments")
    ) == [{"name": "z"}]
    cm = {"data": {"a": "1", "b": "2"}}
    assert strategic_merge_patch(cm, {"data": {"$patch": "replace", "c": "3"}}, "configmaps") == {
        "data": {"c": "3"}
    }
    assert strategic_merge_patch(cm, {"data": {"$patch": "delete"}}, "configmaps") == {"data": {}}


def test_retain_keys() -> None:
    live = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    out = strategic_merge_patch(
        live, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "deployments"
    )
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    with pytest.raises(PatchError, match="invalid patch format of retainKeys"):
        strategic_merge_patch(
            live, {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}, "deployments"
        )


def test_set_element_order() -> None:
    live = _deploy([{"name": "a", "image": "1"}, {"name": "b", "image": "1"}, {"name": "c"}])
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
                    "containers": [{"name": "b", "image": "9"}],
                }
            }
        }
    }
    out = strategic_merge_patch(live, patch, "deployments")
    assert _containers(out) == [{"name": "c"}, {"name": "b", "image": "9"}, {"name": "a", "image": "1"}]
    bad = copy.deepcopy(patch)
    bad["spec"]["template"]["spec"]["$setElementOrder/containers"] = [{"name": "a"}]
    with pytest.raises(PatchError):
        strategic_merge_patch(live, bad, "deployments")


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (_deploy([{"image": "x"}]), "does not contain declared merge key: name"),
        ({"spec": {"$patch": "merge"}}, "unknown patch type: merge"),
        (_deploy([{"$patch": "merge"}]), "merging lists cannot yet be specified in the patch"),
        (_deploy([{"$patch": "delete"}]), "does not contain declared merge key"),
        (
            {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
            "invalid patch format of primitive list",
        ),
        ({"spec": {"$retainKeys": "x"}}, "invalid patch format of retainKeys"),
        (_deploy([[1]]), "list element types are not identical"),
        ({"spec": {"template": {"spec": {"volumes": [[1]]}}}}, "lists of lists are not supported"),
    ],
)
def test_malformed_strategic_patches(patch: dict[str, Any], message: str) -> None:
    live = _deploy([{"name": "a"}])
    live["metadata"] = {"finalizers": ["f"]}
    with pytest.raises(PatchError, match=message):
        strategic_merge_patch(live, patch, "deployments")


def test_custom_resources_are_not_supported() -> None:
    with pytest.raises(PatchError, match="strategic merge patch format is not supported"):
        strategic_merge_patch({}, {}, "widgets.example.com")


def test_json_merge_patch_rfc7386_examples() -> None:
    assert json_merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert json_merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert json_merge_patch({"a": "b"}, {"a": None}) == {}
    assert json_merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert json_merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert json_merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    with pytest.raises(PatchError):
        json_merge_patch({"a": 1}, ["c"])


def test_json_patch_operations_and_pointer_escaping() -> None:
    doc = {"metadata": {"labels": {"a/b": "1", "m~n": "2"}}, "l": [1, 2]}
    ops = [
        {"op": "replace", "path": "/metadata/labels/a~1b", "value": "x"},
        {"op": "remove", "path": "/metadata/labels/m~0n"},
        {"op": "add", "path": "/l/-", "value": 3},
        {"op": "move", "from": "/l/0", "path": "/first"},
        {"op": "copy", "from": "/first", "path": "/again"},
        {"op": "test", "path": "/l", "value": [2, 3]},
    ]
    assert json_patch(doc, ops) == {"metadata": {"labels": {"a/b": "x"}}, "l": [2, 3], "first": 1, "again": 1}
    assert doc["l"] == [1, 2]
    for bad in (
        [{"op": "test", "path": "/l", "value": []}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "add", "path": "nope", "value": 1}],
        [{"op": "frobnicate", "path": "/l"}],
        [{"op": "add", "path": "/x"}],
        {"op": "add"},
        [{"op": "replace", "path": "", "value": 1}],
    ):
        with pytest.raises(PatchError):
            json_patch(doc, bad)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["a", "b", "name", "$patch", "delete"])
)
_keys = st.sampled_from(
    [
        "spec",
        "template",
        "containers",
        "name",
        "env",
        "ports",
        "port",
        "image",
        "$patch",
        "$retainKeys",
        "$setElementOrder/containers",
        "$deleteFromPrimitiveList/finalizers",
        "metadata",
        "finalizers",
        "a",
    ]
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(_keys, _json, max_size=4),
    st.dictionaries(_keys, _json, max_size=4),
    st.sampled_from(["deployments", "services", "pods"]),
)
def test_strategic_patch_never_raises_anything_but_patch_error(
    original: dict[str, Any], patch: dict[str, Any], resource: str
) -> None:
    before = copy.deepcopy((original, patch))
    with contextlib.suppress(PatchError):
        strategic_merge_patch(original, patch, resource)
    assert (original, patch) == before


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _json, max_size=4), _json)
def test_json_patches_never_raise_anything_but_patch_error(original: dict[str, Any], body: Any) -> None:
    with contextlib.suppress(PatchError):
        json_merge_patch(original, body)
    ops = body if isinstance(body, list) else [body]
    with contextlib.suppress(PatchError):
        json_patch(original, ops)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _json, max_size=4), st.dictionaries(_keys, _json, max_size=4))
def test_json_merge_patch_identities(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    assert json_merge_patch(doc, {}) == doc
    once = json_merge_patch(doc, patch)
    assert json_merge_patch(once, patch) == once  # idempotent
    for k, v in patch.items():
        if v is None:
            assert k not in once
        elif not isinstance(v, dict):
            assert once[k] == v
