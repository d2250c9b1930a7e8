"""OpenAPI v3 documents: the `/openapi/v3` index and one document per group-version.

kubectl 1.32 needs, per kind: a PATCH operation tagged `x-kubernetes-group-version-kind` that lists the
`fieldValidation` query parameter (so `create`/`apply` validate server-side instead of falling back to a
protobuf `/openapi/v2`), and a component schema with the same tag (for `explain`). The PATCH request
bodies list JSON, merge and apply patches but not strategic merge: with schemas this shallow, kubectl
computes `apply`'s strategic patch from its compiled-in types, which know every merge key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from sandbox.apiserver import resources
from sandbox.apiserver.resources import ResourceType

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_PACKAGE = {
    "": "core",
    "apps": "apps",
    "discovery.k8s.io": "discovery",
    "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac",
    "authorization.k8s.io": "authorization",
}
_FIELD_DOC = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object.",
    "kind": "Kind is a string value representing the REST resource this object represents.",
    "metadata": "Standard object's metadata.",
    "spec": "Spec defines the desired behavior of the object.",
    "status": "Status is the most recently observed status of the object. Read-only.",
}
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")


def schema_name(rt: ResourceType) -> str:
    return f"io.k8s.api.{_PACKAGE[rt.group]}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> dict[str, str]:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _kind_schema(rt: ResourceType) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in sorted(rt.top_level_fields):
        if f == "metadata":
            props[f] = {"allOf": [_ref(f"{META}.ObjectMeta")], "default": {}, "description": _FIELD_DOC[f]}
        elif f in ("apiVersion", "kind"):
            props[f] = {"type": "string", "description": _FIELD_DOC[f]}
        else:
            props[f] = {
                "type": "object",
                "description": _FIELD_DOC.get(f, f),
                "x-kubernetes-preserve-unknown-fields": True,
            }
    return {
        "description": f"{rt.kind} is a Kubernetes {rt.kind} object served by the Switchyard sandbox.",
        "type": "object",
        "properties": props,
        "x-kubernetes-group-version-kind": [_gvk(rt)],
    }


def _object_meta() -> dict[str, Any]:
    strings = (
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "deletionTimestamp",
        "selfLink",
    )
    props: dict[str, Any] = {k: {"type": "string"} for k in strings}
    props["labels"] = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
    props["annotations"] = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
    props["generation"] = {"type": "integer", "format": "int64"}
    props["deletionGracePeriodSeconds"] = {"type": "integer", "format": "int64"}
    props["finalizers"] = {"type": "array", "items": {"type": "string", "default": ""}}
    props["ownerReferences"] = {"type": "array", "items": {"type": "object"}}
    props["managedFields"] = {"type": "array", "items": {"type": "object"}}
    return {
        "description": "ObjectMeta is metadata that all persisted resources must have.",
        "type": "object",
        "properties": props,
    }


def _param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}


def _op(
    rt: ResourceType,
    action: str,
    op_id: str,
    *,
    body: tuple[str, ...] = (),
    extra_params: tuple[str, ...] = (),
) -> dict[str, Any]:
    ref = _ref(schema_name(rt))
    op: dict[str, Any] = {
        "tags": [f"{_PACKAGE[rt.group]}_{rt.version}"],
        "operationId": op_id,
        "parameters": [_param(p) for p in extra_params],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": ref}}},
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt),
    }
    if body:
        schema = _ref(f"{META}.Patch") if action == "patch" else ref
        op["requestBody"] = {"content": {ct: {"schema": schema} for ct in body}, "required": True}
    return op


def _paths(rt: ResourceType) -> dict[str, Any]:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    op_base = f"{_PACKAGE[rt.group].capitalize()}{rt.version.capitalize()}{'Namespaced' if rt.namespaced else ''}{rt.kind}"
    write = ("dryRun", "fieldManager", "fieldValidation")
    collection: dict[str, Any] = {}
    if "list" in rt.verbs:
        collection["get"] = _op(
            rt,
            "list",
            f"list{op_base}",
            extra_params=("labelSelector", "fieldSelector", "limit", "continue", "watch"),
        )
    if "create" in rt.verbs:
        collection["post"] = _op(rt, "post", f"create{op_base}", body=("*/*",), extra_params=write)
    if "deletecollection" in rt.verbs:
        collection["delete"] = _op(
            rt, "deletecollection", f"deleteCollection{op_base}", extra_params=("labelSelector",)
        )
    out: dict[str, Any] = {f"{prefix}{scope}/{rt.plural}": collection}
    if "get" in rt.verbs:
        out[f"{prefix}{scope}/{rt.plural}/{{name}}"] = {
            "get": _op(rt, "get", f"read{op_base}"),
            "put": _op(rt, "put", f"replace{op_base}", body=("*/*",), extra_params=write),
            "patch": _op(rt, "patch", f"patch{op_base}", body=_PATCH_TYPES, extra_params=(*write, "force")),
            "delete": _op(
                rt,
                "delete",
                f"delete{op_base}",
                extra_params=("dryRun", "gracePeriodSeconds", "propagationPolicy"),
            ),
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        }
        for sub in rt.subresources:
            if sub in ("status",):
                out[f"{prefix}{scope}/{rt.plural}/{{name}}/{sub}"] = {
                    "get": _op(rt, "get", f"read{op_base}Status"),
                    "put": _op(rt, "put", f"replace{op_base}Status", body=("*/*",), extra_params=write),
                    "patch": _op(
                        rt,
                        "patch",
                        f"patch{op_base}Status",
                        body=_PATCH_TYPES,
                        extra_params=(*write, "force"),
                    ),
                }
    return out


@functools.cache
def group_version_document(group: str, version: str) -> bytes:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        f"{META}.ObjectMeta": _object_meta(),
        f"{META}.Patch": {
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
            "type": "object",
        },
    }
    for rt in resources.in_group_version(group, version):
        paths.update(_paths(rt))
        schemas[schema_name(rt)] = _kind_schema(rt)
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def document_hash(group: str, version: str) -> str:
    return hashlib.sha512(group_version_document(group, version)).hexdigest().upper()


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.cache
def index() -> bytes:
    paths = {
        gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{gv_path(g, v)}?hash={document_hash(g, v)}"}
        for g, v in resources.group_versions()
    }
    return json.dumps({"paths": paths}, separators=(",", ":")).encode()


def lookup(path: str) -> tuple[bytes, str] | None:
    """The document for `/openapi/v3/<path>` and its hash, or None."""
    for g, v in resources.group_versions():
        if gv_path(g, v) == path.strip("/"):
            return group_version_document(g, v), document_hash(g, v)
    return None


def _pb_field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (payloads here are < 128 bytes)."""
    return bytes([(number << 3) | 2, len(payload)]) + payload


@functools.cache
def v2_protobuf() -> bytes:
    """A definition-less `openapi_v2.Document` (gnostic protobuf).

    kubectl validates a `kind: List` against /openapi/v2 (v3 has no List kind); a document without
    definitions makes its validator skip every kind, leaving validation to the server (fieldValidation).
    """
    info = _pb_field(1, b"Kubernetes") + _pb_field(2, b"v1.32.0")
    return _pb_field(1, b"2.0") + _pb_field(2, info) + _pb_field(8, b"")


V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
