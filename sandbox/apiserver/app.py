"""The HTTP layer: aiohttp routes that turn Kubernetes REST requests into `Store` calls.

Paths follow Kubernetes: `/api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]` and
`/apis/{group}/{version}/...`; discovery, OpenAPI v3, health and version endpoints beside them. Every
failure leaves as a `Status` object; malformed input is a 4xx, never a 500.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sandbox.apiserver import discovery, errors, openapi, protobuf, resources
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.resources import ResourceType
from sandbox.apiserver.storage import Entry, Store, decode_continue, dumps, encode_continue
from sandbox.apiserver.watch import serve_watch
from sandbox.hooks import ADMIN, pod_log_path

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024  # Kubernetes' request size limit
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-switchyard",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_JSON_TYPES = ("application/json", "*/*", "")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
_PATCH_TYPES = (
    "application/strategic-merge-patch+json",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
)
_TIMESTAMP_RE = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?")


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        return None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    data = body if isinstance(body, bytes) else dumps(body)
    return web.Response(body=data, status=status, content_type="application/json", headers=headers)


def status_response(exc: APIError) -> web.Response:
    return json_response(exc.status(), status=exc.code)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON value {name}")


def _decode_json(data: bytes) -> Any:
    return json.loads(data, parse_constant=_reject_constant)


def decode_body(data: bytes, content_type: str, rt: ResourceType | None = None) -> Any:
    """JSON (also when no Content-Type is sent, as `kubectl scale --current-replicas` does), YAML, or
    protobuf for the kinds `sandbox.apiserver.protobuf` has schemas for (``rt``: the URL's resource)."""
    ctype = content_type.split(";")[0].strip().lower()
    takes_protobuf = rt is not None and protobuf.supports(rt.group_version, rt.kind)
    if ctype == protobuf.CONTENT_TYPE:
        if not takes_protobuf:
            raise errors.unsupported_media_type(content_type)
        try:
            return protobuf.decode_object(data)
        except KeyError:
            api_version, kind, _ = protobuf.unwrap(data)
            raise errors.bad_request(
                f'no kind "{kind}" is registered for version "{api_version}" in scheme "pkg/api/legacyscheme/scheme.go:30"'
            ) from None
        except protobuf.ProtobufError as exc:
            raise errors.bad_request(f"error decoding request body: {str(exc)[:300]}") from None
    try:
        if ctype in _YAML_TYPES or ctype == "application/apply-patch+yaml":
            value = yaml.safe_load(data.decode("utf-8"))
            # YAML may produce dates, sets and non-string keys JSON cannot hold.
            return _decode_json(dumps(value))
        if ctype in _JSON_TYPES or ctype in _PATCH_TYPES or ctype.endswith("+json"):
            return _decode_json(data)
    except (ValueError, UnicodeDecodeError, yaml.YAMLError, TypeError, RecursionError) as exc:
        raise errors.bad_request(f"error decoding request body: {str(exc)[:300]}") from None
    accepted = errors.BODY_MEDIA_TYPES + ((protobuf.CONTENT_TYPE,) if takes_protobuf else ())
    raise errors.unsupported_media_type(content_type, accepted)


def _parse_accept_table(accept: str) -> bool:
    for part in accept.split(","):
        params = {p.split("=")[0].strip(): p.split("=")[-1].strip() for p in part.split(";")[1:] if "=" in p}
        if params.get("as") == "Table" and params.get("g", "meta.k8s.io") == "meta.k8s.io":
            return True
        if part.split(";")[0].strip() in ("application/json", "*/*"):
            return False
    return False


def _check_metadata_types(obj: dict[str, Any]) -> None:
    meta = obj.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise errors.bad_request(
            "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta"
        )
    for key in (
        "name",
        "generateName",
        "namespace",
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
    ):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            raise errors.bad_request(
                f"json: cannot unmarshal {type(meta[key]).__name__} into Go struct field ObjectMeta.metadata.{key} of type string"
            )
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise errors.bad_request(
                f"json: cannot unmarshal into Go struct field ObjectMeta.metadata.{key} of type map[string]string"
            )
    if meta.get("finalizers") is not None and (
        not isinstance(meta["finalizers"], list) or not all(isinstance(f, str) for f in meta["finalizers"])
    ):
        raise errors.bad_request(
            "json: cannot unmarshal into Go struct field ObjectMeta.metadata.finalizers of type []string"
        )
    if meta.get("ownerReferences") is not None and (
        not isinstance(meta["ownerReferences"], list)
        or not all(isinstance(r, dict) for r in meta["ownerReferences"])
    ):
        raise errors.bad_request(
            "json: cannot unmarshal into Go struct field ObjectMeta.metadata.ownerReferences"
        )
    for key in ("generation", "deletionGracePeriodSeconds"):
        if meta.get(key) is not None and (not isinstance(meta[key], int) or isinstance(meta[key], bool)):
            raise errors.bad_request(
                f"json: cannot unmarshal into Go struct field ObjectMeta.metadata.{key} of type int64"
            )


class FieldValidation:
    """`fieldValidation=Strict|Warn|Ignore`: unknown fields are dropped, warned about or rejected."""

    def __init__(self, mode: str | None) -> None:
        if mode not in (None, "", "Strict", "Warn", "Ignore"):
            raise errors.bad_request(f"fieldValidation parameter unsupported: {mode}")
        self.mode = mode or "Warn"
        self.warnings: list[str] = []

    def check(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        unknown = [f'unknown field "{k}"' for k in obj if k not in rt.top_level_fields]
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            unknown += [f'unknown field "metadata.{k}"' for k in meta if k not in _OBJECT_META_FIELDS]
        if not unknown:
            return
        if self.mode == "Strict":
            raise errors.bad_request("strict decoding error: " + ", ".join(unknown))
        for k in [k for k in obj if k not in rt.top_level_fields]:
            del obj[k]
        if isinstance(meta, dict):
            for k in [k for k in meta if k not in _OBJECT_META_FIELDS]:
                del meta[k]
        if self.mode == "Warn":
            self.warnings += unknown

    def headers(self) -> dict[str, str]:
        if not self.warnings:
            return {}
        # json.dumps quotes like RFC 7234 warn-text and escapes control characters a header cannot carry.
        return {"Warning": ", ".join("299 - " + json.dumps(w) for w in self.warnings)}


class Route:
    """A parsed resource path."""

    def __init__(self, rt: ResourceType, namespace: str | None, name: str | None, sub: str | None) -> None:
        self.rt = rt
        self.namespace = namespace
        self.name = name
        self.sub = sub


def parse_resource_path(segs: list[str]) -> Route | None:
    if segs[0] == "api":
        if len(segs) < 3 or segs[1] != "v1":
            return None
        group, version, rest = "", "v1", segs[2:]
    else:
        if len(segs) < 4:
            return None
        group, version, rest = segs[1], segs[2], segs[3:]
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = resources.BY_GVR.get((group, version, rest[2]))
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = resources.BY_GVR.get((group, version, rest[0]))
    if rt is None or len(rest) > 3:
        return None
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if rt.namespaced and name is not None and namespace is None:
        return None
    if sub is not None and sub not in rt.subresources:
        return None
    return Route(rt, namespace, name, sub)


class ApiServer:
    """The aiohttp application around one `Store`."""

    def __init__(
        self, store: Store, *, token: str, state_dir: Path, server_address: str = "127.0.0.1:6443"
    ) -> None:
        self.store = store
        self.token = token
        self.state_dir = state_dir
        self.server_address = server_address
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._middleware])
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.printing = _optional("sandbox.apiserver.printing")
        self.patching = _optional("sandbox.apiserver.patch")

    # -- plumbing ---------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS:
            auth = request.headers.get("Authorization", "")
            if auth != f"Bearer {self.token}":
                return status_response(errors.unauthorized())
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except APIError as exc:
            return status_response(exc)
        except web.HTTPRequestEntityTooLarge:
            return status_response(errors.request_entity_too_large("the request body is too large"))
        except (RecursionError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            # Malformed input that slipped past decoding (a wrong type deep in a spec): a client error.
            log.warning("rejected %s %s: %r", request.method, request.path, exc, exc_info=True)
            return status_response(errors.bad_request(f"the request is invalid: {str(exc)[:200]}"))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("internal error on %s %s", request.method, request.path)
            return status_response(APIError(500, "InternalError", f"Internal error occurred: {exc}"))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return web.Response(text="ok")
        if path == "/version":
            return json_response(VERSION)
        segs = [s for s in path.split("/") if s]
        if not segs:
            return json_response(
                {
                    "paths": [
                        "/api",
                        "/api/v1",
                        "/apis",
                        "/healthz",
                        "/livez",
                        "/openapi/v3",
                        "/readyz",
                        "/version",
                    ]
                }
            )
        if segs[0] == "openapi":
            return self._openapi(request, segs)
        if segs[0] not in ("api", "apis"):
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        if request.method == "GET":
            found = self._discovery(request, segs)
            if found is not None:
                return found
        route = parse_resource_path(segs)
        if route is None:
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        return await self._resource(request, route)

    def _discovery(self, request: web.Request, segs: list[str]) -> web.Response | None:
        accept = request.headers.get("Accept", "")
        if segs == ["api"] or segs == ["apis"]:
            core = segs == ["api"]
            if discovery.wants_aggregated(accept):
                return web.Response(
                    body=dumps(discovery.aggregated(core)),
                    headers={"Content-Type": discovery.AGGREGATED_CONTENT_TYPE, "Vary": "Accept"},
                )
            return json_response(
                discovery.api_versions(self.server_address) if core else discovery.api_group_list()
            )
        if segs == ["api", "v1"]:
            return json_response(discovery.api_resource_list("", "v1"))
        if segs[0] == "apis" and len(segs) == 2:
            if any(g == segs[1] for g, _ in resources.group_versions()):
                return json_response(discovery.api_group(segs[1]))
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        if segs[0] == "apis" and len(segs) == 3:
            if (segs[1], segs[2]) in resources.group_versions():
                return json_response(discovery.api_resource_list(segs[1], segs[2]))
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        return None

    def _openapi(self, request: web.Request, segs: list[str]) -> web.Response:
        if segs == ["openapi", "v2"] and request.method == "GET":
            return web.Response(
                body=openapi.v2_protobuf(), headers={"Content-Type": openapi.V2_PROTOBUF_CONTENT_TYPE}
            )
        if segs[:2] != ["openapi", "v3"] or request.method != "GET":
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        if len(segs) == 2:
            return json_response(openapi.index())
        found = openapi.lookup("/".join(segs[2:]))
        if found is None:
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        body, digest = found
        etag = f'"{digest}"'
        headers = {"ETag": etag, "Vary": "Accept"}
        if request.query.get("hash") == digest:
            headers["Cache-Control"] = "public, immutable"
            headers["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
        else:
            headers["Cache-Control"] = "no-cache, private"
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/json", headers=headers)

    # -- resources --------------------------------------------------------------------------------

    async def _read_body(self, request: web.Request, rt: ResourceType | None = None) -> Any:
        data = await request.read()
        if not data.strip():
            raise errors.bad_request("the request body is empty")
        return decode_body(data, request.headers.get("Content-Type", ""), rt)

    @staticmethod
    def _dry_run(request: web.Request, body: Any = None) -> bool:
        values = request.query.getall("dryRun", [])
        if isinstance(body, dict) and isinstance(body.get("dryRun"), list):
            values = values + [str(v) for v in body["dryRun"]]
        for v in values:
            if v != "All":
                raise errors.bad_request(f'Invalid dry run value: "{v}": supported values: "All"')
        return bool(values)

    def _table(
        self, rt: ResourceType, objects: list[dict[str, Any]], request: web.Request, rv: str = ""
    ) -> dict[str, Any] | None:
        if self.printing is None or not self.printing.supports_table(rt.plural):
            return None
        include = request.query.get("includeObject") or "Metadata"
        if include not in ("None", "Metadata", "Object"):
            raise errors.bad_request(f"includeObject: Unsupported value: {include!r}")
        table: dict[str, Any] = self.printing.to_table(
            rt.plural, objects, include_object=include, resource_version=rv
        )
        return table

    def _wants_table(self, request: web.Request) -> bool:
        return _parse_accept_table(request.headers.get("Accept", ""))

    async def _resource(self, request: web.Request, route: Route) -> web.StreamResponse:
        rt, method = route.rt, request.method
        if not rt.stored:
            if method == "POST" and route.name is None:
                return await self._access_review(request, rt)
            raise errors.method_not_supported(rt.plural, rt.group, method.lower())
        if route.name is None:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, route)
                self._require(rt, "list")
                return self._list(request, route)
            if method == "POST":
                self._require(rt, "create")
                return await self._create(request, route)
            if method == "DELETE":
                self._require(rt, "deletecollection")
                return await self._delete_collection(request, route)
            raise errors.method_not_supported(rt.plural, rt.group, method.lower())
        if route.sub == "log":
            if method != "GET":
                raise errors.method_not_supported(rt.plural, rt.group, method.lower())
            return await self._log(request, route)
        if route.sub == "scale":
            return await self._scale(request, route)
        if route.sub == "finalize":
            if method != "PUT":
                raise errors.method_not_supported(rt.plural, rt.group, method.lower())
            return await self._update(request, route)
        if method == "GET":
            if request.query.get("watch") in ("true", "1"):
                return await self._watch(request, route)
            return self._get(request, route)
        if method == "PUT":
            return await self._update(request, route)
        if method == "PATCH":
            return await self._patch(request, route)
        if method == "DELETE" and route.sub is None:
            return await self._delete(request, route)
        raise errors.method_not_supported(rt.plural, rt.group, method.lower())

    @staticmethod
    def _require(rt: ResourceType, verb: str) -> None:
        if verb not in rt.verbs:
            raise errors.method_not_supported(rt.plural, rt.group, verb)

    def _object_response(
        self,
        request: web.Request,
        rt: ResourceType,
        entry: Entry,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        if self._wants_table(request):
            table = self._table(rt, [entry.obj], request, entry.obj["metadata"].get("resourceVersion", ""))
            if table is not None:
                return json_response(table, status, headers)
        return json_response(entry.raw, status, headers)

    def _get(self, request: web.Request, route: Route) -> web.Response:
        assert route.name is not None
        entry = self.store.entry(route.rt.plural, route.namespace, route.name)
        return self._object_response(request, route.rt, entry)

    def _list(self, request: web.Request, route: Route) -> web.Response:
        rt, q = route.rt, request.query
        current = self.store.resource_version
        rv = q.get("resourceVersion")
        if rv and rv != "0":
            try:
                wanted = int(rv)
            except ValueError:
                raise errors.bad_request(f"invalid resource version: {rv}") from None
            if wanted > current:
                raise errors.too_large_resource_version(wanted, current)
        entries = self.store.entries(
            rt.plural,
            route.namespace,
            label_selector=q.get("labelSelector"),
            field_selector=q.get("fieldSelector"),
        )
        list_rv = current
        continue_token = ""
        remaining = 0
        if q.get("continue"):
            list_rv, start = decode_continue(q["continue"])
            entries = [e for e in entries if _entry_key(e) > start]
        limit_text = q.get("limit")
        if limit_text:
            try:
                limit = int(limit_text)
            except ValueError:
                raise errors.bad_request(f"invalid limit: {limit_text}") from None
            if 0 < limit < len(entries):
                remaining = len(entries) - limit
                entries = entries[:limit]
                continue_token = encode_continue(list_rv, _entry_key(entries[-1]))
        meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if continue_token:
            meta["continue"] = continue_token
            meta["remainingItemCount"] = remaining
        if self._wants_table(request):
            table = self._table(rt, [e.obj for e in entries], request, str(list_rv))
            if table is not None:
                table["metadata"] = {**table.get("metadata", {}), **meta}
                return json_response(table)
        head = dumps({"kind": rt.list_kind, "apiVersion": rt.group_version, "metadata": meta})
        body = head[:-1] + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
        return json_response(body)

    async def _watch(self, request: web.Request, route: Route) -> web.StreamResponse:
        rt = route.rt
        self._require(rt, "watch")
        query = dict(request.query)
        if route.name is not None:
            name_sel = f"metadata.name={route.name}"
            query["fieldSelector"] = (
                f"{query['fieldSelector']},{name_sel}" if query.get("fieldSelector") else name_sel
            )
        table_fn = None
        if (
            self._wants_table(request)
            and self.printing is not None
            and self.printing.supports_table(rt.plural)
        ):

            def table_fn(objs: list[dict[str, Any]], first: bool) -> dict[str, Any]:
                t = self._table(rt, objs, request, objs[0]["metadata"].get("resourceVersion", "")) or {}
                if not first:
                    t["columnDefinitions"] = None
                return t

        return await serve_watch(request, self.store, rt, route.namespace, query, table_fn)

    async def _create(self, request: web.Request, route: Route) -> web.Response:
        rt = route.rt
        body = await self._read_body(request, rt)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        self._check_type(rt, body)
        fv = FieldValidation(request.query.get("fieldValidation"))
        fv.check(rt, body)
        _check_metadata_types(body)
        entry = await self.store.create_entry(
            rt.plural, body, namespace=route.namespace, user=ADMIN, dry_run=self._dry_run(request)
        )
        return self._object_response(request, rt, entry, 201, fv.headers())

    @staticmethod
    def _check_type(rt: ResourceType, body: dict[str, Any]) -> None:
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version not in (None, "") and api_version != rt.group_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({rt.group_version})"
            )
        if kind not in (None, "") and kind != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )

    async def _update(self, request: web.Request, route: Route) -> web.Response:
        rt = route.rt
        assert route.name is not None
        body = await self._read_body(request, rt)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        self._check_type(rt, body)
        fv = FieldValidation(request.query.get("fieldValidation"))
        fv.check(rt, body)
        _check_metadata_types(body)
        sub = route.sub if route.sub in ("status", "finalize") else None
        if route.sub == "finalize":
            body = self._finalize_body(route, body)
        entry = await self.store.update_entry(
            rt.plural,
            body,
            namespace=route.namespace,
            name=route.name,
            subresource=sub,
            user=ADMIN,
            dry_run=self._dry_run(request),
        )
        return self._object_response(request, rt, entry, 200, fv.headers())

    def _finalize_body(self, route: Route, body: dict[str, Any]) -> dict[str, Any]:
        assert route.name is not None
        current = json.loads(self.store.entry("namespaces", None, route.name).raw)
        spec: dict[str, Any] = body["spec"] if isinstance(body.get("spec"), dict) else {}
        current.setdefault("spec", {})["finalizers"] = list(spec.get("finalizers") or [])
        current["metadata"]["resourceVersion"] = body.get("metadata", {}).get("resourceVersion", "")
        return dict(current)

    def _patch_function(
        self, request: web.Request, rt: ResourceType, patch_body: Any, ctype: str, fv: FieldValidation
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        patching = self.patching
        if patching is None:
            raise errors.unsupported_media_type(ctype, errors.PATCH_MEDIA_TYPES)

        def mutate(current: dict[str, Any]) -> dict[str, Any]:
            try:
                if ctype == "application/json-patch+json":
                    new = patching.json_patch(current, patch_body)
                elif ctype == "application/merge-patch+json":
                    new = patching.json_merge_patch(current, patch_body)
                else:  # strategic merge; server-side apply merges the applied object the same way
                    if not isinstance(patch_body, dict):
                        raise errors.bad_request("the patch must be a JSON object")
                    new = patching.strategic_merge_patch(current, patch_body, rt.plural)
            except patching.PatchError as exc:
                code = 422 if ctype == "application/json-patch+json" else 400
                raise APIError(
                    code, "Invalid" if code == 422 else "BadRequest", str(exc.args[0] if exc.args else exc)
                ) from None
            if not isinstance(new, dict):
                raise errors.bad_request("the patched object must be a JSON object")
            self._check_type(rt, new)
            fv.check(rt, new)
            _check_metadata_types(new)
            return dict(new)

        return mutate

    async def _patch(self, request: web.Request, route: Route) -> web.Response:
        rt = route.rt
        assert route.name is not None
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in _PATCH_TYPES:
            raise errors.unsupported_media_type(ctype, errors.PATCH_MEDIA_TYPES)
        patch_body = await self._read_body(request)
        fv = FieldValidation(request.query.get("fieldValidation"))
        dry_run = self._dry_run(request)
        sub = "status" if route.sub == "status" else None
        if ctype == "application/apply-patch+yaml":
            if not isinstance(patch_body, dict):
                raise errors.bad_request("the apply configuration must be an object")
            if not request.query.get("fieldManager"):
                raise errors.bad_request(
                    "PATCH requests with apply-patch+yaml content type must specify fieldManager"
                )
            self._check_type(rt, patch_body)
            if sub is None and not self.store._objects[rt.plural].get(
                ((route.namespace or "") if rt.namespaced else "", route.name)
            ):
                body = dict(patch_body)
                meta = body.setdefault("metadata", {})
                if isinstance(meta, dict) and meta.get("name", route.name) != route.name:
                    raise errors.bad_request("the name of the object does not match the name on the URL")
                if isinstance(meta, dict):
                    meta["name"] = route.name
                fv.check(rt, body)
                _check_metadata_types(body)
                entry = await self.store.create_entry(
                    rt.plural, body, namespace=route.namespace, user=ADMIN, dry_run=dry_run
                )
                return self._object_response(request, rt, entry, 201, fv.headers())
        mutate = self._patch_function(request, rt, patch_body, ctype, fv)
        entry = await self.store.patch_entry(
            rt.plural, route.namespace, route.name, mutate, subresource=sub, user=ADMIN, dry_run=dry_run
        )
        return self._object_response(request, rt, entry, 200, fv.headers())

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        data = await request.read()
        opts: dict[str, Any] = {}
        if data.strip():
            body = decode_body(data, request.headers.get("Content-Type", "") or "application/json")
            if not isinstance(body, dict):
                raise errors.bad_request("DeleteOptions must be an object")
            opts = body
        q = request.query
        grace: Any = opts.get("gracePeriodSeconds")
        if q.get("gracePeriodSeconds"):
            grace = q["gracePeriodSeconds"]
        if grace is not None:
            try:
                grace = int(grace)
            except (TypeError, ValueError):
                raise errors.bad_request(f"invalid gracePeriodSeconds: {grace}") from None
        policy = q.get("propagationPolicy") or opts.get("propagationPolicy")
        if opts.get("orphanDependents") is True and not policy:
            policy = "Orphan"
        pre = opts.get("preconditions") or {}
        if not isinstance(pre, dict) or not isinstance(policy, str | None):
            raise errors.bad_request("malformed DeleteOptions")
        return {
            "grace_period_seconds": grace,
            "propagation_policy": policy,
            "preconditions": pre,
            "dry_run": self._dry_run(request, opts),
        }

    async def _delete(self, request: web.Request, route: Route) -> web.Response:
        rt = route.rt
        assert route.name is not None
        opts = await self._delete_options(request)
        entry, gone = await self.store.delete_entry(
            rt.plural, route.namespace, route.name, user=ADMIN, **opts
        )
        if not gone:
            return json_response(entry.raw, 202)
        if rt.plural in ("pods", "services", "namespaces"):
            return json_response(entry.raw)
        return json_response(
            errors.success_status(route.name, rt.group, rt.plural, entry.obj["metadata"].get("uid", ""))
        )

    async def _delete_collection(self, request: web.Request, route: Route) -> web.Response:
        rt = route.rt
        opts = await self._delete_options(request)
        opts.pop("preconditions", None)
        deleted = await self.store.delete_collection(
            rt.plural,
            route.namespace,
            label_selector=request.query.get("labelSelector"),
            field_selector=request.query.get("fieldSelector"),
            user=ADMIN,
            **opts,
        )
        return json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.group_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            }
        )

    async def _access_review(self, request: web.Request, rt: ResourceType) -> web.Response:
        body = await self._read_body(request, rt)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        self._check_type(rt, body)
        spec = body.get("spec")
        if not isinstance(spec, dict) or not (
            spec.get("resourceAttributes") or spec.get("nonResourceAttributes")
        ):
            raise errors.invalid(
                rt.kind,
                rt.group,
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "field": "spec.resourceAttributes",
                        "message": "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
                    }
                ],
            )
        out = {
            "kind": rt.kind,
            "apiVersion": rt.group_version,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": {
                "allowed": True,
                "reason": "the sandbox user may do everything (RBAC is stored, not enforced)",
            },
        }
        return json_response(out, 201)

    # -- /scale -----------------------------------------------------------------------------------

    def _scale_of(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        selector = ""
        sel_spec = obj.get("spec", {}).get("selector")
        selectors = _optional("sandbox.apiserver.selectors")
        if isinstance(sel_spec, dict) and selectors is not None:
            try:
                selector = str(selectors.label_selector_from_spec(sel_spec))
            except selectors.SelectorError:
                selector = ""
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0), "selector": selector},
        }

    async def _scale(self, request: web.Request, route: Route) -> web.Response:
        rt = route.rt
        assert route.name is not None
        current = self.store.entry(rt.plural, route.namespace, route.name)
        if request.method == "GET":
            return json_response(self._scale_of(rt, current.obj))
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_supported(rt.plural, rt.group, request.method.lower())
        dry_run = self._dry_run(request)
        if request.method == "PUT":
            body = await self._read_body(request)
            scale_body = body
        else:
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype not in _PATCH_TYPES or self.patching is None:
                raise errors.unsupported_media_type(ctype, errors.PATCH_MEDIA_TYPES)
            patch_body = await self._read_body(request)
            base = self._scale_of(rt, current.obj)
            try:
                if ctype == "application/json-patch+json":
                    scale_body = self.patching.json_patch(base, patch_body)
                elif ctype == "application/merge-patch+json":
                    scale_body = self.patching.json_merge_patch(base, patch_body)
                else:
                    scale_body = self.patching.json_merge_patch(base, patch_body)
            except self.patching.PatchError as exc:
                raise errors.bad_request(str(exc)) from None
        if not isinstance(scale_body, dict) or not isinstance(scale_body.get("spec", {}), dict):
            raise errors.bad_request("the body of the request must be an autoscaling/v1 Scale")
        replicas = scale_body.get("spec", {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise errors.bad_request(
                "json: cannot unmarshal into Go struct field ScaleSpec.spec.replicas of type int32"
            )
        if replicas < 0:
            raise errors.invalid(
                "Scale",
                "autoscaling",
                route.name,
                [
                    {
                        "reason": "FieldValueInvalid",
                        "field": "spec.replicas",
                        "message": f"Invalid value: {replicas}: must be greater than or equal to 0",
                    }
                ],
            )
        meta: dict[str, Any] = scale_body["metadata"] if isinstance(scale_body.get("metadata"), dict) else {}
        want_rv = meta.get("resourceVersion") if request.method == "PUT" else None

        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            if want_rv and str(want_rv) != obj["metadata"].get("resourceVersion"):
                raise errors.conflict(rt.plural, rt.group, route.name or "", errors.STALE)
            obj.setdefault("spec", {})["replicas"] = replicas
            return obj

        entry = await self.store.patch_entry(
            rt.plural, route.namespace, route.name, mutate, user=ADMIN, dry_run=dry_run
        )
        return json_response(self._scale_of(rt, entry.obj))

    # -- pods/log ---------------------------------------------------------------------------------

    async def _log(self, request: web.Request, route: Route) -> web.StreamResponse:
        assert route.name is not None and route.namespace is not None
        pod = self.store.entry("pods", route.namespace, route.name).obj
        names = [c.get("name") for c in (pod.get("spec", {}).get("containers") or []) if isinstance(c, dict)]
        init_names = [
            c.get("name") for c in (pod.get("spec", {}).get("initContainers") or []) if isinstance(c, dict)
        ]
        container = request.query.get("container")
        if not container:
            if len(names) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {route.name}, choose one of: [{' '.join(map(str, names))}]"
                )
            container = str(names[0])
        if container not in names and container not in init_names:
            raise errors.bad_request(f"container {container} is not valid for pod {route.name}")
        q = request.query
        previous = q.get("previous") == "true"
        path = pod_log_path(self.state_dir, route.namespace, route.name, container, previous=previous)
        timestamps = q.get("timestamps") == "true"
        follow = q.get("follow") == "true" and not previous
        try:
            tail = int(q["tailLines"]) if q.get("tailLines") else None
            since = int(q["sinceSeconds"]) if q.get("sinceSeconds") else None
            limit_bytes = int(q["limitBytes"]) if q.get("limitBytes") else None
        except ValueError:
            raise errors.bad_request("tailLines, sinceSeconds and limitBytes must be integers") from None
        if not path.exists():
            if previous:
                raise errors.bad_request(
                    f'previous terminated container "{container}" in pod "{route.name}" not found'
                )
            raise errors.bad_request(
                f'container "{container}" in pod "{route.name}" is waiting to start: ContainerCreating'
            )
        cutoff = time.time() - since if since is not None else None

        def render(lines: list[bytes]) -> bytes:
            out = []
            for line in lines:
                m = _TIMESTAMP_RE.match(line)
                if cutoff is not None and m:
                    try:
                        ts = datetime.datetime.fromisoformat(
                            m.group(1).decode().replace("Z", "+00:00")
                        ).timestamp()
                    except ValueError:
                        ts = None
                    if ts is not None and ts < cutoff:
                        continue
                out.append(line if timestamps or not m else line[m.end() :])
            return b"".join(out)

        with path.open("rb") as fh:
            data = fh.read()
            position = fh.tell()
        lines = data.splitlines(keepends=True)
        if lines and not lines[-1].endswith(b"\n"):
            position -= len(lines[-1])
            lines = lines[:-1]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        first = render(lines)
        if limit_bytes is not None:
            first = first[:limit_bytes]
        if not follow:
            return web.Response(body=first, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(first)
        pending = b""
        try:
            while True:
                await asyncio.sleep(0.2)
                if request.transport is None or request.transport.is_closing():
                    break
                try:
                    with path.open("rb") as fh:
                        fh.seek(position)
                        chunk = fh.read()
                        position = fh.tell()
                except FileNotFoundError:
                    break
                if chunk:
                    pending += chunk
                    complete, _, pending = pending.rpartition(b"\n")
                    if complete:
                        await resp.write(render((complete + b"\n").splitlines(keepends=True)))
                if not self._container_running(route.namespace, route.name, container):
                    break
            await resp.write_eof()
        except ConnectionResetError:
            pass
        return resp

    def _container_running(self, namespace: str, pod: str, container: str) -> bool:
        """Follow ends when the pod is gone or the container has terminated."""
        try:
            obj = self.store.entry("pods", namespace, pod).obj
        except APIError:
            return False
        for st in (obj.get("status", {}).get("containerStatuses") or []) + (
            obj.get("status", {}).get("initContainerStatuses") or []
        ):
            if isinstance(st, dict) and st.get("name") == container:
                return "terminated" not in (st.get("state") or {})
        return True


def _entry_key(e: Entry) -> tuple[str, str]:
    meta = e.obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])
