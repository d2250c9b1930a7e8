"""The three PATCH flavours the API server accepts: strategic merge, JSON merge (RFC 7386), JSON patch (RFC 6902).

Strategic merge follows apimachinery `pkg/util/strategicpatch/patch.go` (`mergeMap`, `mergeSlice`,
`normalizeElementOrder`, the `$patch`/`$retainKeys`/`$setElementOrder`/`$deleteFromPrimitiveList`
directives). The list strategies and merge keys come from the struct tags of kubernetes/api and live in
the schema tables below. Every malformed patch raises `PatchError`; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import jsonpointer

__all__ = ["PatchError", "json_merge_patch", "json_patch", "strategic_merge_patch"]


class PatchError(ValueError):
    """A patch the server cannot apply (maps to a 4xx Status)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- schema: list strategies and merge keys ----------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """Patch metadata of one field: `merge` lists are merged (by `key` for objects); anything else is replaced."""

    strategy: str | None = None  # "merge" or None (replace lists, merge maps key by key)
    key: str | None = None
    schema: dict[str, Field] = field(default_factory=dict)  # of the object, or of each list item


_PLAIN = Field()


def _merge(key: str | None = None, schema: dict[str, Field] | None = None) -> Field:
    return Field("merge", key, schema or {})


def _obj(schema: dict[str, Field]) -> Field:
    return Field(None, None, schema)


OBJECT_META: dict[str, Field] = {
    "ownerReferences": _merge("uid"),
    "finalizers": _merge(),  # plain values: union, no removal by omission
}
CONTAINER: dict[str, Field] = {
    "ports": _merge("containerPort"),
    "env": _merge("name"),
    "volumeMounts": _merge("mountPath"),
    "volumeDevices": _merge("devicePath"),
}
POD_SPEC: dict[str, Field] = {
    "containers": _merge("name", CONTAINER),
    "initContainers": _merge("name", CONTAINER),
    "ephemeralContainers": _merge("name", CONTAINER),
    "volumes": _merge("name"),
    "resourceClaims": _merge("name"),
    "imagePullSecrets": _merge("name"),
    "schedulingGates": _merge("name"),
    "hostAliases": _merge("ip"),
    "topologySpreadConstraints": _merge("topologyKey"),
}
POD_STATUS: dict[str, Field] = {
    "conditions": _merge("type"),
    "podIPs": _merge("ip"),
    "hostIPs": _merge("ip"),
}
POD_TEMPLATE: dict[str, Field] = {"metadata": _obj(OBJECT_META), "spec": _obj(POD_SPEC)}
CONDITIONS_STATUS: dict[str, Field] = {"conditions": _merge("type")}


def _kind(
    spec: dict[str, Field] | None = None, status: dict[str, Field] | None = None, **top: Field
) -> dict[str, Field]:
    schema: dict[str, Field] = {"metadata": _obj(OBJECT_META), **top}
    if spec is not None:
        schema["spec"] = _obj(spec)
    if status is not None:
        schema["status"] = _obj(status)
    return schema


_WORKLOAD_SPEC: dict[str, Field] = {"template": _obj(POD_TEMPLATE)}
_JOB_TEMPLATE: dict[str, Field] = {"metadata": _obj(OBJECT_META), "spec": _obj(_WORKLOAD_SPEC)}

SCHEMAS: dict[str, dict[str, Field]] = {
    "pods": _kind(POD_SPEC, POD_STATUS),
    "podtemplates": _kind(template=_obj(POD_TEMPLATE)),
    "deployments": _kind(_WORKLOAD_SPEC, CONDITIONS_STATUS),
    "replicasets": _kind(_WORKLOAD_SPEC, CONDITIONS_STATUS),
    "replicationcontrollers": _kind(_WORKLOAD_SPEC, CONDITIONS_STATUS),
    "statefulsets": _kind(_WORKLOAD_SPEC, CONDITIONS_STATUS),
    "daemonsets": _kind(_WORKLOAD_SPEC, CONDITIONS_STATUS),
    "jobs": _kind(_WORKLOAD_SPEC, CONDITIONS_STATUS),
    "cronjobs": _kind({"jobTemplate": _obj(_JOB_TEMPLATE)}, {}),
    "services": _kind({"ports": _merge("port")}, CONDITIONS_STATUS),
    "endpoints": _kind(),
    "endpointslices": _kind(),
    "configmaps": _kind(),
    "secrets": _kind(),
    "serviceaccounts": _kind(secrets=_merge("name")),
    "namespaces": _kind({}, CONDITIONS_STATUS),
    "nodes": _kind({"podCIDRs": _merge()}, {"conditions": _merge("type"), "addresses": _merge("type")}),
    "persistentvolumeclaims": _kind({}, CONDITIONS_STATUS),
    "persistentvolumes": _kind(),
    "resourcequotas": _kind(),
    "limitranges": _kind(),
    "events": _kind(),
    "ingresses": _kind(),
    "ingressclasses": _kind(),
    "networkpolicies": _kind(),
    "leases": _kind(),
    "roles": _kind(),
    "clusterroles": _kind(),
    "rolebindings": _kind(),
    "clusterrolebindings": _kind(),
    "scale": _kind(),
}


def _schema_for(resource: str) -> dict[str, Field]:
    # Accept "deployments", "deployments.apps", "deployments/status" and "deployments/scale".
    if not isinstance(resource, str):
        raise PatchError("strategic merge patch format is not supported")
    name, _, sub = resource.partition("/")
    name = name.split(".", 1)[0].lower()
    if sub == "scale":
        name = "scale"
    schema = SCHEMAS.get(name)
    if schema is None:
        raise PatchError("strategic merge patch format is not supported")
    return schema


# --- strategic merge ---------------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList"
_SET_ORDER = "$setElementOrder"


def _go(v: Any) -> str:
    """Go's %v of a decoded JSON value, for error messages that look like Kubernetes'."""
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go(v[k])}" for k in sorted(v, key=str)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go(x) for x in v) + "]"
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _no_merge_key(item: dict[str, Any], key: str) -> PatchError:
    return PatchError(f"map: {_go(item)} does not contain declared merge key: {key}")


def _json_kind(v: Any) -> str:
    # reflect.TypeOf of a decoded JSON value: bools are not numbers, ints and floats are both float64.
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "slice"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if v is None:
        return "nil"
    raise PatchError(f"unsupported value in patch: {type(v).__name__}")


def _same(a: Any, b: Any) -> bool:
    """Go's interface equality for scalars (no 1 == True)."""
    return _json_kind(a) == _json_kind(b) and a == b


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _extract_key(key: str, prefix: str, error: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise PatchError(error)
    return rest


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: dict[str, Field]) -> dict[str, Any]:
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            # Take the map as sent; still process what is inside so no directive is stored.
            rest = {k: v for k, v in patch.items() if k != _DIRECTIVE}
            return _merge_map({}, rest, schema)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {_go(directive)} in map: {_go(patch)}")

    _apply_retain_keys(original, patch)
    _merge_set_element_order(original, patch, schema)

    for k, patch_v in list(patch.items()):
        is_delete_list = False
        if isinstance(k, str) and k.startswith(_DELETE_PRIMITIVE):
            k = _extract_key(k, _DELETE_PRIMITIVE, "invalid patch format of primitive list")
            is_delete_list = True
            if not isinstance(patch_v, list):
                raise PatchError("invalid patch format of primitive list")
        if patch_v is None:
            original.pop(k, None)
            continue
        meta = schema.get(k, _PLAIN)
        if k not in original:
            if not is_delete_list:
                original[k] = _fresh(patch_v, meta)
            continue
        orig_v = original[k]
        if is_delete_list:
            if not isinstance(orig_v, list):
                raise PatchError(f"expected a []interface {{}}, but received a {_json_kind(orig_v)}")
            original[k] = _delete_from_slice(orig_v, patch_v)
            continue
        if _json_kind(orig_v) != _json_kind(patch_v):
            original[k] = _fresh(patch_v, meta)
        elif isinstance(patch_v, dict):
            original[k] = _merge_map(orig_v, patch_v, meta.schema)
        elif isinstance(patch_v, list):
            if meta.strategy == "merge":
                original[k] = _merge_slice(orig_v, patch_v, meta)
            else:
                original[k] = _fresh(patch_v, meta)
        else:
            original[k] = patch_v
    return original


def _fresh(value: Any, meta: Field) -> Any:
    """A patch value for a key the live object lacks: merged into nothing so directives and nulls vanish."""
    if isinstance(value, dict):
        return _merge_map({}, value, meta.schema)
    if isinstance(value, list):
        if meta.strategy == "merge":
            return _merge_slice([], value, meta)
        _element_kind(value)
        return value
    _json_kind(value)
    return value


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise PatchError("invalid patch format of retainKeys")
    keep = [r for r in retain if isinstance(r, str)]
    for k, v in patch.items():
        if v is None or (isinstance(k, str) and k.startswith((_DELETE_PRIMITIVE, _SET_ORDER))):
            continue
        if k not in keep:
            raise PatchError("invalid patch format of retainKeys")
    for k in list(original):
        if k not in keep:
            del original[k]


def _element_kind(*lists: list[Any]) -> str | None:
    """sliceElementType: every element of one JSON kind, and no lists of lists."""
    kind: str | None = None
    for items in lists:
        for v in items:
            current = _json_kind(v)
            if kind is None:
                if current == "slice":
                    raise PatchError("lists of lists are not supported")
                kind = current
            elif kind != current:
                raise PatchError(f"list element types are not identical: {_go(list(lists))}")
    return kind


def _delete_from_slice(current: list[Any], to_delete: list[Any]) -> list[Any]:
    return [v for v in current if not any(_same(v, d) for d in to_delete if not isinstance(d, dict | list))]


def _merge_slice(original: list[Any], patch: list[Any], meta: Field) -> list[Any]:
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    key = meta.key
    if kind != "map":
        merged = _dedupe(original + patch)
        patch_items = [v for v in merged if any(_same(v, p) for p in patch)]
        server_only = [v for v in merged if not any(_same(v, p) for p in patch)]
        return _normalize_order(patch_items, server_only, patch, original, None)
    if not key:
        raise PatchError("cannot merge lists without merge key for type map")
    original, patch = _merge_special_elements(original, patch, key)
    merged = list(original)
    for item in patch:
        if key not in item:
            raise _no_merge_key(item, key)
        index = _find_by_key(merged, key, item[key])
        if index is None:
            merged.append(_merge_map({}, item, meta.schema))
        else:
            merged[index] = _merge_map(merged[index], item, meta.schema)
    patch_items, server_only = _partition_maps(merged, patch, key)
    return _normalize_order(patch_items, server_only, patch, original, key)


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in items:
        if not any(_same(v, o) for o in out):
            out.append(v)
    return out


def _find_by_key(items: list[Any], key: str, value: Any) -> int | None:
    for i, v in enumerate(items):
        if not isinstance(v, dict):
            raise PatchError(f"value for key {i} is not a map.")
        if key in v and _same(v[key], value):
            return i
    return None


def _merge_special_elements(original: list[Any], patch: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    plain: list[Any] = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if key not in item:
                raise _no_merge_key(item, key)
            original = [
                v for v in original if not (isinstance(v, dict) and key in v and _same(v[key], item[key]))
            ]
        elif directive == "replace":
            replace = True  # keep scanning to prune the other directive items
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {_go(directive)} in map: {_go(item)}")
    if replace:
        return plain, []
    return original, plain


def _partition_maps(merged: list[Any], by: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for v in merged:
        if not isinstance(v, dict):
            raise PatchError(f"expected a map[string]interface {{}}, but received a {_json_kind(v)}")
        if key not in v:
            raise _no_merge_key(v, key)
        found = any(isinstance(b, dict) and key in b and _same(b[key], v[key]) for b in by)
        (in_patch if found else server_only).append(v)
    return in_patch, server_only


def _index(items: list[Any], value: Any, key: str | None) -> int:
    def get(v: Any) -> Any:
        if key is None:
            return v
        return v.get(key) if isinstance(v, dict) else None

    wanted = get(value)
    for i, v in enumerate(items):
        if _same(get(v), wanted):
            return i
    return -1


def _normalize_slice(to_sort: list[Any], order: list[Any], key: str | None) -> list[Any]:
    to_delete: list[Any] = []
    if key is not None:
        for v in [*to_sort, *order]:
            if not isinstance(v, dict):
                raise PatchError(f"expected a map[string]interface {{}}, but received a {_json_kind(v)}")
            if key not in v:
                raise _no_merge_key(v, key)
        to_delete = [v for v in to_sort if v.get(_DIRECTIVE) == "delete"]
        to_sort = [v for v in to_sort if v.get(_DIRECTIVE) != "delete"]
    positions = [_index(order, v, key) for v in to_sort]
    # Items the order list knows go by that order; others keep their place after them (stable).
    ranked = sorted(range(len(to_sort)), key=lambda i: (positions[i] < 0, positions[i]))
    return [to_sort[i] for i in ranked] + to_delete


def _normalize_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    key: str | None,
) -> list[Any]:
    """normalizeElementOrder: patch items by patch order, server-only by live order, then interleaved."""
    right = _normalize_slice(patch_items, patch_order, key)
    left = _normalize_slice(server_only, server_order, key)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = _index(server_order, left[i], key), _index(server_order, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _merge_set_element_order(
    original: dict[str, Any], patch: dict[str, Any], schema: dict[str, Field]
) -> None:
    for directive_key in [k for k in patch if isinstance(k, str) and k.startswith(_SET_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise PatchError("invalid patch format of setElementOrder list")
        k = _extract_key(directive_key, _SET_ORDER, "invalid patch format of setElementOrder list")
        meta = schema.get(k, _PLAIN)
        found_original, found_patch = k in original, k in patch and patch[k] is not None
        orig_list = original.get(k) if found_original else []
        patch_list = patch.get(k) if found_patch else []
        if not isinstance(orig_list, list) or not isinstance(patch_list, list):
            raise PatchError("invalid patch format of setElementOrder list")
        key = meta.key if meta.strategy == "merge" else None
        _validate_set_order(patch_list, order, key)
        if found_original and not found_patch:
            merged = orig_list
        elif found_patch and not found_original:
            merged = _fresh(patch_list, meta)
        elif found_patch and found_original:
            merged = (
                _merge_slice(orig_list, patch_list, meta)
                if meta.strategy == "merge"
                else _fresh(patch_list, meta)
            )
        else:
            continue
        kind = _element_kind(orig_list, patch_list, order)
        if kind == "map" and key is None:
            raise PatchError("invalid patch format of setElementOrder list")
        if kind != "map":
            key = None
            patch_items = [v for v in merged if any(_same(v, o) for o in order)]
            server_only = [v for v in merged if not any(_same(v, o) for o in order)]
        else:
            assert key is not None
            patch_items, server_only = _partition_maps(merged, order, key)
        original[k] = _normalize_order(patch_items, server_only, order, orig_list, key)
        patch.pop(k, None)


def _validate_set_order(patch_list: list[Any], order: list[Any], key: str | None) -> None:
    """The patch list's items appear in the $setElementOrder list, in the same relative order."""
    if not order or not patch_list:
        return
    items = patch_list
    if key is not None:
        for v in patch_list:
            if not isinstance(v, dict):
                raise PatchError(f"expected a map[string]interface {{}}, but received a {_json_kind(v)}")
        items = [v for v in patch_list if v.get(_DIRECTIVE) != "delete"]
    p = s = 0
    while p < len(items) and s < len(order):
        item = items[p]
        if isinstance(item, dict) and _DIRECTIVE in item:
            p += 1
            continue
        if key is None:
            equal = _same(item, order[s])
        else:
            if not isinstance(order[s], dict) or key not in order[s]:
                raise _no_merge_key(order[s] if isinstance(order[s], dict) else {}, key)
            if key not in item:
                raise _no_merge_key(item, key)
            equal = _same(item[key], order[s][key])
        if equal:
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise PatchError(
            f"The order in patch list:\n{_go(patch_list)}\n doesn't match {_SET_ORDER} list:\n{_go(order)}\n"
        )


def _guard(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except RecursionError:
        raise PatchError("patch is nested too deeply") from None


def strategic_merge_patch(original: dict[str, Any], patch: dict[str, Any], resource: str) -> dict[str, Any]:
    """Apply a strategic merge patch to a built-in resource's object; returns a new dict."""
    schema = _schema_for(resource)
    if not isinstance(original, dict):
        raise PatchError("original object must be a JSON object")
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")

    def run() -> dict[str, Any]:
        return _merge_map(_copy(original), _copy(patch), schema)

    return _guard(run)


# --- JSON merge patch (RFC 7386) ------------------------------------------------------------------


def _merge_patch_value(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return _copy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = _merge_patch_value(result.get(k), v)
    return result


def json_merge_patch(original: dict[str, Any], patch: Any) -> dict[str, Any]:
    """RFC 7386: objects merge recursively, `null` deletes, anything else replaces."""
    if not isinstance(original, dict):
        raise PatchError("original object must be a JSON object")
    if not isinstance(patch, dict):
        # RFC 7386 would replace the whole document; an API object must stay an object.
        raise PatchError("json merge patch must be a JSON object")

    def run() -> dict[str, Any]:
        result = _merge_patch_value(_copy(original), patch)
        assert isinstance(result, dict)
        return result

    return _guard(run)


# --- JSON patch (RFC 6902) -------------------------------------------------------------------------

_OPS_NEEDING = {
    "add": ("path", "value"),
    "remove": ("path",),
    "replace": ("path", "value"),
    "move": ("from", "path"),
    "copy": ("from", "path"),
    "test": ("path", "value"),
}


def _validate_operations(operations: Any) -> list[dict[str, Any]]:
    if not isinstance(operations, list):
        raise PatchError("json patch must be a JSON array of operations")
    for i, op in enumerate(operations):
        if not isinstance(op, dict):
            raise PatchError(f"json patch operation {i} must be a JSON object")
        name = op.get("op")
        if not isinstance(name, str) or name not in _OPS_NEEDING:
            raise PatchError(f"Unexpected kind: {name}")
        for member in _OPS_NEEDING[name]:
            if member not in op:
                raise PatchError(f"json patch operation {i} ({name}) is missing {member!r}")
            if member in ("path", "from") and not isinstance(op[member], str):
                raise PatchError(f"json patch operation {i} ({name}): {member} must be a string")
    return operations


def json_patch(original: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 operations (add, remove, replace, move, copy, test) applied to a copy of `original`."""
    if not isinstance(original, dict):
        raise PatchError("original object must be a JSON object")
    ops = _validate_operations(operations)
    try:
        result = jsonpatch.JsonPatch(ops).apply(_copy(original), in_place=True)
    except jsonpatch.JsonPatchTestFailed as err:
        raise PatchError(f"testing value failed: {err}") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as err:
        raise PatchError(str(err)) from None
    except RecursionError:
        raise PatchError("patch is nested too deeply") from None
    if not isinstance(result, dict):
        raise PatchError("json patch result must be a JSON object")
    return result
