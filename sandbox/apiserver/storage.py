"""The sandbox's object store: SQLite (WAL) is the durable log, memory serves every read and watch.

Internal API (all coroutines unless noted; `resource` is the plural, e.g. ``"pods"``; ``namespace`` is
``None``/``""`` for cluster-scoped resources and, in reads, for "all namespaces")::

    store = Store.open(state_dir, service_cidr="127.2.0.0/16")      # sync; close() when done
    obj          = await store.get(resource, namespace, name)          # a private copy; APIError 404
    items, rv    = await store.list(resource, namespace, label_selector=None, field_selector=None)
    obj          = await store.create(resource, obj, namespace=ns, user=SYSTEM, dry_run=False)
    obj          = await store.update(resource, obj, subresource=None | "status" | "finalize", user=..., dry_run=...)
    obj          = await store.patch(resource, namespace, name, mutate, subresource=None, ...)
    obj          = await store.delete(resource, namespace, name, grace_period_seconds=None,
                                      propagation_policy=None, preconditions=None, user=..., dry_run=...)
    watch        = store.watch(resource, namespace=None, resource_version=None, predicate=None)  # sync
    async for event in watch: ...   # WatchEvent(type, obj, old, rv, raw); watch.close() to stop

``create``/``update``/``patch``/``delete`` run the same pipeline as HTTP requests: Kubernetes' defaults
(`sandbox.admission.defaults`), ClusterIP/NodePort allocation, mutating admission, validation
(`sandbox.apiserver.validation`), validating admission, optimistic concurrency on
``metadata.resourceVersion`` (409 Conflict), then one SQLite transaction that writes the object and the
new global resourceVersion together (a SIGKILL loses nothing committed and never leaves half a write).
``patch``'s ``mutate(copy_of_current) -> new`` is re-run if another write lands while admission awaits,
like Kubernetes' patch retry. Status writes (``subresource="status"``) change only ``status``; main
writes keep the stored ``status`` for kinds with a status subresource. A Namespace's ``spec.finalizers``
changes only through ``subresource="finalize"`` (``PUT …/namespaces/x/finalize``).

Watch events (ADDED/MODIFIED/DELETED) are produced once per committed write, in resourceVersion order,
kept in a window of the last ``watch_window`` events for resuming (older → 410 Expired), and fanned out
to every watcher, HTTP or in-process. Event objects are shared: copy before mutating them.

Deletion: objects with ``metadata.finalizers`` get a ``deletionTimestamp`` and stay until the last
finalizer is removed by an update. ``propagationPolicy`` Foreground/Orphan add the ``foregroundDeletion``
/ ``orphan`` finalizers only when a garbage collector has announced them in ``store.handled_finalizers``;
a Namespace gets its ``kubernetes`` finalizer handled the same way (without a namespace controller its
contents are deleted at once). A bound pod (``spec.nodeName``) with a grace period is only marked
(``deletionTimestamp``, ``deletionGracePeriodSeconds``) when ``store.graceful_pod_deletion`` is True
(the kubelet sets it and finishes with ``grace_period_seconds=0``).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import datetime
import importlib
import json
import logging
import random
import secrets
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.apiserver import errors, resources
from sandbox.apiserver.errors import APIError
from sandbox.hooks import ADMIN, SYSTEM, Admission, Operation, UserInfo

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]
ObjList = list[Obj]
Chain = list[Admission]
StrList = list[str]

BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(slots=True)
class Entry:
    obj: Obj  # shared, never mutated after commit
    raw: bytes  # its JSON, serialized once per write
    rv: int


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED (BOOKMARK/ERROR are made by the HTTP layer)
    resource: str
    namespace: str
    name: str
    rv: int
    obj: Obj
    raw: bytes
    old: Obj | None = None


class Watch:
    """A subscription to one resource (optionally one namespace and a predicate).

    With a predicate, transitions follow Kubernetes' filtered watches: an object that starts matching
    arrives as ADDED, one that stops matching as DELETED.
    """

    def __init__(
        self, store: Store, resource: str, namespace: str | None, predicate: Predicate | None
    ) -> None:
        self._store = store
        self.resource = resource
        self.namespace = namespace or None
        self.predicate = predicate
        self.queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self.closed = False
        self.overflowed = False

    def _offer(self, ev: WatchEvent) -> None:
        if self.closed or (self.namespace is not None and ev.namespace != self.namespace):
            return
        if self.predicate is not None:
            new_ok = ev.type != "DELETED" and self.predicate(ev.obj)
            old_ok = ev.old is not None and self.predicate(ev.old)
            if ev.type == "DELETED":
                if not self.predicate(ev.obj):
                    return
            elif new_ok and not old_ok:
                ev = WatchEvent("ADDED", ev.resource, ev.namespace, ev.name, ev.rv, ev.obj, ev.raw, ev.old)
            elif old_ok and not new_ok:
                ev = WatchEvent("DELETED", ev.resource, ev.namespace, ev.name, ev.rv, ev.obj, ev.raw, ev.old)
            elif not new_ok:
                return
        if self.queue.qsize() > self._store.watcher_queue_limit:
            # A consumer this far behind is cut off, as the watch cache does; it must re-list.
            self.overflowed = True
            self.close()
            return
        self.queue.put_nowait(ev)

    async def next(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event; None when closed or after `timeout` seconds without one."""
        if self.closed and self.queue.empty():
            return None
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[WatchEvent]:
        while True:
            ev = await self.queue.get()
            if ev is None:
                return
            yield ev

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._store._watchers[self.resource].discard(self)
            self.queue.put_nowait(None)


class _Retry(Exception):
    pass


def _meta(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    return meta


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def _selector_predicate(
    resource: str, label_selector: str | None, field_selector: str | None
) -> Predicate | None:
    if not label_selector and not field_selector:
        return None
    from sandbox.apiserver import selectors

    try:
        lsel = selectors.parse_label_selector(label_selector) if label_selector else None
        fsel = selectors.parse_field_selector(field_selector, resource) if field_selector else None
    except selectors.SelectorError as exc:
        raise errors.bad_request(exc.message) from exc

    def matches(obj: Obj) -> bool:
        if lsel is not None and not lsel.matches(obj.get("metadata", {}).get("labels") or {}):
            return False
        return fsel is None or fsel.matches(obj)

    return matches


def encode_continue(rv: int, last: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(last)})).decode()


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=="))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc


def _optional(module: str) -> Any:
    """A sibling module written in parallel (defaults, validation); None until it exists."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        return None


def _random_suffix(n: int = 5) -> str:
    defaults = _optional("sandbox.admission.defaults")
    if defaults is None:  # same alphabet as Kubernetes' rand.String
        return "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))
    return str(defaults.random_suffix(n))


def _apply_defaults(resource: str, obj: Obj) -> None:
    defaults = _optional("sandbox.admission.defaults")
    if defaults is not None:
        defaults.apply_defaults(resource, obj)


def _validate(rt: resources.ResourceType, obj: Obj, old: Obj | None) -> None:
    _validate_only(rt, obj, old)
    if rt.plural == "secrets" and isinstance(obj.get("stringData"), dict):
        # Kubernetes folds stringData into data (base64) on the way in; it is never stored.
        data: dict[str, Any] = obj["data"] if isinstance(obj.get("data"), dict) else {}
        for k, v in obj.pop("stringData").items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        obj["data"] = data


def _validate_only(rt: resources.ResourceType, obj: Obj, old: Obj | None) -> None:
    validation = _optional("sandbox.apiserver.validation")
    name = obj["metadata"].get("name") or ""
    if validation is not None:
        errs = validation.validate(rt.plural, obj, old)
        if errs:
            causes = [{"reason": e.reason, "message": e.message, "field": e.field} for e in errs]
            raise errors.invalid(
                rt.kind, rt.group, name, causes, validation.invalid_message(rt.kind, rt.group, name, errs)
            )
    elif not name:
        raise errors.invalid(
            rt.kind,
            rt.group,
            name,
            [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: name or generateName is required",
                    "field": "metadata.name",
                }
            ],
        )


class Store:
    def __init__(
        self,
        db_path: Path,
        *,
        service_cidr: str = "127.2.0.0/16",
        node_port_range: tuple[int, int] = (30000, 32767),
        watch_window: int = 20000,
    ) -> None:
        from sandbox.network.ipam import AddressPool

        self.db_path = db_path
        self.service_cidr = service_cidr
        self.node_port_range = node_port_range
        self.watcher_queue_limit = 100_000
        self.handled_finalizers: set[str] = set()
        self.graceful_pod_deletion = False
        self.dry_run_active = False
        self._mutating: list[Admission] = []
        self._validating: list[Admission] = []
        self._objects: dict[str, dict[tuple[str, str], Entry]] = {r.plural: {} for r in resources.RESOURCES}
        self._watchers: dict[str, set[Watch]] = {r.plural: set() for r in resources.RESOURCES}
        self._log: collections.deque[WatchEvent] = collections.deque(maxlen=watch_window)
        self._ip_pool = AddressPool(service_cidr)
        self._db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process kill (only an OS crash can lose the last commits).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (resource TEXT NOT NULL, namespace TEXT NOT NULL, "
            "name TEXT NOT NULL, rv INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (resource, namespace, name))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'rv'").fetchone()
        self._rv = int(row[0]) if row else 0
        for res, ns, name, rv, body in self._db.execute(
            "SELECT resource, namespace, name, rv, body FROM objects"
        ):
            if res not in self._objects:
                continue
            obj = json.loads(body)
            self._objects[res][(ns, name)] = Entry(obj, bytes(body), rv)
            self._rv = max(self._rv, rv)
            if res == "services":
                for ip in obj.get("spec", {}).get("clusterIPs") or []:
                    if self._ip_pool.contains(ip) and not self._ip_pool.is_allocated(ip):
                        self._ip_pool.reserve(ip)
        # Every event after this version is in the window; older versions are "too old".
        self._window_start = self._rv

    @classmethod
    def open(cls, state_dir: Path, **kwargs: Any) -> Store:
        """Open (or create) `state_dir/state.db`; the bootstrap namespaces exist afterwards."""
        state_dir.mkdir(parents=True, exist_ok=True)
        store = cls(state_dir / "state.db", **kwargs)
        for ns in BOOTSTRAP_NAMESPACES:
            if ("", ns) not in store._objects["namespaces"]:
                obj: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                store._create_sync_prepare_and_commit("namespaces", obj)
        return store

    def close(self) -> None:
        for watchers in self._watchers.values():
            for w in list(watchers):
                w.close()
        self._db.close()

    # -- plug-ins ---------------------------------------------------------------------------------

    def add_admission(self, plugin: Admission, *, validating: bool = False) -> None:
        (self._validating if validating else self._mutating).append(plugin)

    @property
    def resource_version(self) -> int:
        return self._rv

    # -- reads ------------------------------------------------------------------------------------

    def entry(self, resource: str, namespace: str | None, name: str) -> Entry:
        """The shared cached entry (do not mutate `.obj`); APIError 404 when absent."""
        rt = resources.resource(resource)
        found = self._objects[resource].get(((namespace or "") if rt.namespaced else "", name))
        if found is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return found

    async def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        return copy.deepcopy(self.entry(resource, namespace, name).obj)

    def entries(
        self,
        resource: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        predicate: Predicate | None = None,
    ) -> list[Entry]:
        """Matching cached entries sorted by (namespace, name); selectors use Kubernetes' grammar."""
        pred = predicate or _selector_predicate(resource, label_selector, field_selector)
        table = self._objects[resource]
        keys = sorted(table)
        out = []
        for k in keys:
            if namespace and k[0] != namespace:
                continue
            e = table[k]
            if pred is None or pred(e.obj):
                out.append(e)
        return out

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], int]:
        found = self.entries(
            resource, namespace, label_selector=label_selector, field_selector=field_selector
        )
        return [copy.deepcopy(e.obj) for e in found], self._rv

    def selector_predicate(
        self, resource: str, label_selector: str | None, field_selector: str | None
    ) -> Predicate | None:
        return _selector_predicate(resource, label_selector, field_selector)

    # -- watch ------------------------------------------------------------------------------------

    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        resource_version: str | int | None = None,
        *,
        predicate: Predicate | None = None,
        send_initial_events: bool | None = None,
    ) -> Watch:
        """Subscribe. RV None/""/"0" (or send_initial_events) first replays current state as ADDED;
        a numeric RV resumes after it (APIError 410 Expired if older than the window)."""
        w = Watch(self, resource, namespace, predicate)
        rv_text = "" if resource_version is None else str(resource_version)
        if send_initial_events or (rv_text in ("", "0") and send_initial_events is not False):
            for e in self.entries(resource, namespace, predicate=predicate):
                ns, name = _key(e.obj)
                w.queue.put_nowait(WatchEvent("ADDED", resource, ns, name, e.rv, e.obj, e.raw))
            if rv_text not in ("", "0"):
                self._replay(w, self._parse_rv(rv_text))
        else:
            self._replay(w, self._parse_rv(rv_text))
        self._watchers[resource].add(w)
        return w

    @staticmethod
    def _parse_rv(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise errors.bad_request(f"invalid resource version: {text}") from exc
        if value < 0:
            raise errors.bad_request(f"invalid resource version: {text}")
        return value

    def _replay(self, w: Watch, after: int) -> None:
        if after < self._window_start:
            raise errors.expired(f"too old resource version: {after} ({self._window_start})")
        pending = []
        for ev in reversed(self._log):
            if ev.rv <= after:
                break
            if ev.resource == w.resource:
                pending.append(ev)
        for ev in reversed(pending):
            w._offer(ev)

    # -- commit (the only place state changes) ----------------------------------------------------

    def _commit(self, resource: str, obj: Obj, etype: str, old: Obj | None) -> Entry:
        rv = self._rv + 1
        obj["metadata"]["resourceVersion"] = str(rv)
        raw = dumps(obj)
        ns, name = _key(obj)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if etype == "DELETED":
                db.execute(
                    "DELETE FROM objects WHERE resource=? AND namespace=? AND name=?", (resource, ns, name)
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO objects (resource, namespace, name, rv, body) VALUES (?, ?, ?, ?, ?)",
                    (resource, ns, name, rv, raw),
                )
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)", (rv,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._rv = rv
        entry = Entry(obj, raw, rv)
        if etype == "DELETED":
            self._objects[resource].pop((ns, name), None)
        else:
            self._objects[resource][(ns, name)] = entry
        ev = WatchEvent(etype, resource, ns, name, rv, obj, raw, old)
        if len(self._log) == self._log.maxlen:
            self._window_start = self._log[0].rv
        self._log.append(ev)
        for w in list(self._watchers[resource]):
            w._offer(ev)
        return entry

    # -- create -----------------------------------------------------------------------------------

    def _prepare_create(self, rt: resources.ResourceType, obj: Obj, namespace: str | None) -> None:
        meta = _meta(obj)
        obj["apiVersion"] = rt.group_version
        obj["kind"] = rt.kind
        if rt.namespaced:
            ns = meta.get("namespace") or namespace or "default"
            if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
            ns_entry = self._objects["namespaces"].get(("", ns))
            if ns_entry is None:
                raise errors.not_found("namespaces", "", ns)
            if ns_entry.obj["metadata"].get("deletionTimestamp"):
                raise errors.forbidden(
                    rt.plural,
                    rt.group,
                    meta.get("name") or meta.get("generateName", ""),
                    f"unable to create new content in namespace {ns} because it is being terminated",
                )
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta["generateName"]:
            # As Kubernetes' SimpleNameGenerator: the prefix cut to 58 characters, 5 random ones after.
            meta["name"] = meta["generateName"][:58] + _random_suffix(5)
        for server_field in (
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ):
            meta.pop(server_field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if rt.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if "status" in rt.subresources and rt.plural not in ("nodes",):
            obj["status"] = {}
        if rt.plural == "namespaces":
            obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        _apply_defaults(rt.plural, obj)

    def _create_sync_prepare_and_commit(self, resource: str, obj: Obj) -> Entry:
        rt = resources.resource(resource)
        self._prepare_create(rt, obj, None)
        _validate(rt, obj, None)
        return self._commit(resource, obj, "ADDED", None)

    async def create(
        self,
        resource: str,
        obj: Obj,
        *,
        namespace: str | None = None,
        user: UserInfo = SYSTEM,
        dry_run: bool = False,
    ) -> Obj:
        return copy.deepcopy(
            (await self.create_entry(resource, obj, namespace=namespace, user=user, dry_run=dry_run)).obj
        )

    async def create_entry(
        self,
        resource: str,
        obj: Obj,
        *,
        namespace: str | None = None,
        user: UserInfo = ADMIN,
        dry_run: bool = False,
    ) -> Entry:
        rt = resources.resource(resource)
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(obj)
        self._prepare_create(rt, obj, namespace)
        allocated: list[str] = []
        try:
            if rt.plural == "services":
                allocated = self._allocate_service(obj, None, dry_run)
            await self._admit(self._mutating, "CREATE", rt.plural, obj, None, user, dry_run)
            _validate(rt, obj, None)
            await self._admit(self._validating, "CREATE", rt.plural, obj, None, user, dry_run)
            key = _key(obj)
            if key in self._objects[resource]:
                raise errors.already_exists(rt.plural, rt.group, key[1])
            if dry_run:
                return Entry(obj, dumps(obj), self._rv)
            entry = self._commit(resource, obj, "ADDED", None)
            allocated = []
            return entry
        finally:
            for ip in allocated:
                self._ip_pool.release(ip)

    async def _admit(
        self,
        chain: Chain,
        op: Operation,
        resource: str,
        obj: Obj | None,
        old: Obj | None,
        user: UserInfo,
        dry_run: bool,
    ) -> None:
        if not chain:
            return
        self.dry_run_active = dry_run
        try:
            for plugin in chain:
                await plugin.admit(op, resource, obj, old, user)
        finally:
            self.dry_run_active = False

    # -- Service address allocation ---------------------------------------------------------------

    def _used_node_ports(self, skip: tuple[str, str] | None = None) -> set[int]:
        used: set[int] = set()
        for key, e in self._objects["services"].items():
            if key == skip:
                continue
            for p in e.obj.get("spec", {}).get("ports") or []:
                if isinstance(p, dict) and isinstance(p.get("nodePort"), int):
                    used.add(p["nodePort"])
        return used

    def _allocate_service(self, obj: Obj, old: Obj | None, dry_run: bool) -> StrList:
        """Fill spec.clusterIP(s) and nodePorts; returns ClusterIPs reserved now (released on failure)."""
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return []
        reserved: list[str] = []
        svc_type = spec.get("type") or "ClusterIP"
        old_spec = (old or {}).get("spec") or {}
        if old is not None:
            # Kubernetes keeps allocated values an update leaves out (patchAllocatedValues).
            if not spec.get("clusterIP") and old_spec.get("clusterIP") and svc_type != "ExternalName":
                spec["clusterIP"] = old_spec["clusterIP"]
                spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_spec["clusterIP"]]
            if not spec.get("clusterIPs") and spec.get("clusterIP"):
                spec["clusterIPs"] = [spec["clusterIP"]]
        elif svc_type != "ExternalName":
            ip = spec.get("clusterIP") or ""
            if ip == "None":
                spec["clusterIPs"] = ["None"]
            elif not ip:
                from sandbox.network.ipam import PoolExhaustedError

                try:
                    ip = self._ip_pool.allocate()
                except PoolExhaustedError as exc:
                    raise errors.APIError(
                        500, "InternalError", f"failed to allocate a serviceIP: {exc}"
                    ) from exc
                reserved.append(ip)
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip]
            else:
                try:
                    self._ip_pool.reserve(ip)
                except ValueError as exc:
                    why = (
                        "provided IP is already allocated"
                        if self._ip_pool.contains(ip)
                        else f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {self.service_cidr}"
                    )
                    raise errors.invalid(
                        "Service",
                        "",
                        obj["metadata"].get("name", ""),
                        [
                            {
                                "reason": "FieldValueInvalid",
                                "message": f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: {why}',
                                "field": "spec.clusterIPs",
                            }
                        ],
                    ) from exc
                reserved.append(ip)
                spec["clusterIPs"] = [ip]
        if svc_type in ("NodePort", "LoadBalancer") and isinstance(spec.get("ports"), list):
            old_ports = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                for p in old_spec.get("ports") or []
                if isinstance(p, dict)
            }
            used = self._used_node_ports(_key(obj) if old is not None else None)
            low, high = self.node_port_range
            for i, p in enumerate(spec["ports"]):
                if not isinstance(p, dict):
                    continue
                if not p.get("nodePort") and old_ports.get((p.get("port"), p.get("protocol", "TCP"))):
                    p["nodePort"] = old_ports[(p.get("port"), p.get("protocol", "TCP"))]
                if p.get("nodePort"):
                    port = p["nodePort"]
                    if isinstance(port, int) and port in used:
                        raise errors.invalid(
                            "Service",
                            "",
                            obj["metadata"].get("name", ""),
                            [
                                {
                                    "reason": "FieldValueInvalid",
                                    "message": f"Invalid value: {port}: provided port is already allocated",
                                    "field": f"spec.ports[{i}].nodePort",
                                }
                            ],
                        )
                    if isinstance(port, int):
                        used.add(port)
                    continue
                free = [n for n in range(low, high + 1) if n not in used]
                if not free:
                    raise errors.APIError(
                        500, "InternalError", "failed to allocate a nodePort: range is full"
                    )
                p["nodePort"] = random.choice(free)
                used.add(p["nodePort"])
        elif isinstance(spec.get("ports"), list) and svc_type not in ("NodePort", "LoadBalancer"):
            for p in spec["ports"]:
                if isinstance(p, dict):
                    p.pop("nodePort", None)
        return reserved

    # -- update / patch ---------------------------------------------------------------------------

    async def update(
        self,
        resource: str,
        obj: Obj,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        user: UserInfo = SYSTEM,
        dry_run: bool = False,
    ) -> Obj:
        entry = await self.update_entry(
            resource, obj, namespace=namespace, name=name, subresource=subresource, user=user, dry_run=dry_run
        )
        return copy.deepcopy(entry.obj)

    async def update_entry(
        self,
        resource: str,
        obj: Obj,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        user: UserInfo = ADMIN,
        dry_run: bool = False,
    ) -> Entry:
        rt = resources.resource(resource)
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        meta = _meta(obj)
        name = name or meta.get("name")
        if not name:
            raise errors.bad_request("name is required")
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        ns = (namespace or meta.get("namespace") or "default") if rt.namespaced else None
        if rt.namespaced and namespace and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        rv_text = meta.get("resourceVersion")
        for _ in range(8):
            current = self.entry(resource, ns, name)
            if rv_text not in (None, "") and str(rv_text) != str(current.rv):
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE)
            try:
                return await self._update_from(rt, current, copy.deepcopy(obj), subresource, user, dry_run)
            except _Retry:
                continue
        raise errors.conflict(rt.plural, rt.group, name, errors.STALE)

    async def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        mutate: Callable[[Obj], Obj],
        *,
        subresource: str | None = None,
        user: UserInfo = SYSTEM,
        dry_run: bool = False,
    ) -> Obj:
        entry = await self.patch_entry(
            resource, namespace, name, mutate, subresource=subresource, user=user, dry_run=dry_run
        )
        return copy.deepcopy(entry.obj)

    async def patch_entry(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        mutate: Callable[[Obj], Obj],
        *,
        subresource: str | None = None,
        user: UserInfo = ADMIN,
        dry_run: bool = False,
    ) -> Entry:
        rt = resources.resource(resource)
        for _ in range(8):
            current = self.entry(resource, namespace, name)
            new = mutate(copy.deepcopy(current.obj))
            if not isinstance(new, dict):
                raise errors.bad_request("the patched object must be a JSON object")
            meta = _meta(new)
            if meta.get("name", name) != name:
                raise errors.bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            given_rv = meta.get("resourceVersion")
            if given_rv not in (None, "") and str(given_rv) != str(current.rv):
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE)
            try:
                return await self._update_from(rt, current, new, subresource, user, dry_run)
            except _Retry:
                continue
        raise errors.conflict(rt.plural, rt.group, name, errors.STALE)

    async def _update_from(
        self,
        rt: resources.ResourceType,
        current: Entry,
        obj: Obj,
        subresource: str | None,
        user: UserInfo,
        dry_run: bool,
    ) -> Entry:
        old = current.obj
        old_meta = old["metadata"]
        if subresource == "status":
            new = copy.deepcopy(old)
            new["status"] = obj.get("status")
            if new["status"] is None:
                new.pop("status")
        else:
            new = obj
            meta = _meta(new)
            if not isinstance(meta.get("labels", {}), dict) or not isinstance(
                meta.get("annotations", {}), dict
            ):
                raise errors.bad_request("metadata.labels and metadata.annotations must be objects")
            new["apiVersion"] = rt.group_version
            new["kind"] = rt.kind
            for fixed in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "name",
            ):
                if fixed in old_meta:
                    meta[fixed] = old_meta[fixed]
                else:
                    meta.pop(fixed, None)
            if rt.namespaced:
                meta["namespace"] = old_meta["namespace"]
            else:
                meta.pop("namespace", None)
            meta.pop("managedFields", None)
            if "status" in rt.subresources:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            if rt.plural == "namespaces" and subresource != "finalize":
                # As Kubernetes: only the finalize subresource changes spec.finalizers.
                new["spec"] = copy.deepcopy(old.get("spec", {}))
            _apply_defaults(rt.plural, new)
            if rt.plural == "services":
                self._allocate_service(new, old, dry_run)
            if rt.has_generation and new.get("spec") != old.get("spec"):
                meta["generation"] = int(old_meta.get("generation") or 1) + 1
            await self._admit(self._mutating, "UPDATE", rt.plural, new, old, user, dry_run)
        new["metadata"]["resourceVersion"] = old_meta.get("resourceVersion")
        _validate(rt, new, old)
        if subresource != "status":
            await self._admit(self._validating, "UPDATE", rt.plural, new, old, user, dry_run)
        ns, name = _key(old)
        latest = self._objects[rt.plural].get((ns, name))
        if latest is None:
            raise errors.not_found(rt.plural, rt.group, name)
        if latest.rv != current.rv:
            raise _Retry()
        if new == old:
            return current  # Kubernetes skips writes that change nothing: same resourceVersion, no event
        if dry_run:
            return Entry(new, dumps(new), current.rv)
        nmeta = new["metadata"]
        if (
            nmeta.get("deletionTimestamp")
            and not nmeta.get("finalizers")
            and not self._awaits_kubelet(rt, new)
        ):
            return self._commit(rt.plural, new, "DELETED", old)
        return self._commit(rt.plural, new, "MODIFIED", old)

    def _awaits_kubelet(self, rt: resources.ResourceType, obj: Obj) -> bool:
        return (
            rt.plural == "pods"
            and self.graceful_pod_deletion
            and bool(obj.get("spec", {}).get("nodeName"))
            and int(obj["metadata"].get("deletionGracePeriodSeconds") or 0) > 0
        )

    # -- delete -----------------------------------------------------------------------------------

    async def delete(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: dict[str, Any] | None = None,
        user: UserInfo = SYSTEM,
        dry_run: bool = False,
    ) -> Obj:
        """Delete (or mark for deletion); returns the last state of the object."""
        entry, _gone = await self.delete_entry(
            resource,
            namespace,
            name,
            grace_period_seconds=grace_period_seconds,
            propagation_policy=propagation_policy,
            preconditions=preconditions,
            user=user,
            dry_run=dry_run,
        )
        return copy.deepcopy(entry.obj)

    async def delete_entry(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: dict[str, Any] | None = None,
        user: UserInfo = ADMIN,
        dry_run: bool = False,
    ) -> tuple[Entry, bool]:
        """Returns (entry, gone): gone is False when the object only got a deletionTimestamp."""
        rt = resources.resource(resource)
        if propagation_policy not in (None, "", "Foreground", "Background", "Orphan"):
            raise errors.invalid(
                "DeleteOptions",
                "",
                "",
                [
                    {
                        "reason": "FieldValueNotSupported",
                        "message": f'Unsupported value: "{propagation_policy}": supported values: "Foreground", "Background", "Orphan"',
                        "field": "propagationPolicy",
                    }
                ],
                message=f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "{propagation_policy}": supported values: "Foreground", "Background", "Orphan"',
            )
        if grace_period_seconds is not None and grace_period_seconds < 0:
            grace_period_seconds = 0
        for _ in range(8):
            current = self.entry(resource, namespace, name)
            old = current.obj
            meta = old["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise errors.conflict(
                    rt.plural,
                    rt.group,
                    name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}",
                )
            if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta.get("resourceVersion"):
                raise errors.conflict(
                    rt.plural,
                    rt.group,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                    f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
                )
            await self._admit(self._mutating, "DELETE", rt.plural, None, old, user, dry_run)
            await self._admit(self._validating, "DELETE", rt.plural, None, old, user, dry_run)
            latest = self._objects[resource].get(_key(old))
            if latest is None or latest.rv != current.rv:
                continue
            new = copy.deepcopy(old)
            nmeta = new["metadata"]
            finalizers = list(nmeta.get("finalizers") or [])
            if propagation_policy == "Foreground" and "foregroundDeletion" in self.handled_finalizers:
                finalizers = [f for f in finalizers if f != "orphan"] + (
                    ["foregroundDeletion"] if "foregroundDeletion" not in finalizers else []
                )
            elif propagation_policy == "Orphan" and "orphan" in self.handled_finalizers:
                finalizers = [f for f in finalizers if f != "foregroundDeletion"] + (
                    ["orphan"] if "orphan" not in finalizers else []
                )
            graceful = False
            if rt.plural == "pods" and self.graceful_pod_deletion and new.get("spec", {}).get("nodeName"):
                phase = new.get("status", {}).get("phase")
                grace = grace_period_seconds
                if grace is None:
                    grace = int(new.get("spec", {}).get("terminationGracePeriodSeconds") or 30)
                if phase in ("Succeeded", "Failed"):
                    grace = 0
                previous = nmeta.get("deletionGracePeriodSeconds")
                if grace > 0 and (previous is None or grace < int(previous)):
                    graceful = True
                    nmeta["deletionGracePeriodSeconds"] = grace
                    nmeta["deletionTimestamp"] = (
                        datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=grace)
                    ).strftime("%Y-%m-%dT%H:%M:%SZ")
                elif grace > 0 and previous is not None:
                    return current, False  # already terminating with a shorter grace
            if rt.plural == "namespaces":
                if "kubernetes" in self.handled_finalizers:
                    if not nmeta.get("deletionTimestamp"):
                        nmeta["deletionTimestamp"] = now_rfc3339()
                        nmeta["deletionGracePeriodSeconds"] = 0
                        new.setdefault("status", {})["phase"] = "Terminating"
                        if finalizers:
                            nmeta["finalizers"] = finalizers
                        if dry_run:
                            return Entry(new, dumps(new), current.rv), False
                        return self._commit(resource, new, "MODIFIED", old), False
                    return current, False
                if not dry_run:
                    await self._delete_namespace_contents(name, user)
            if finalizers or graceful:
                if finalizers:
                    nmeta["finalizers"] = finalizers
                if not nmeta.get("deletionTimestamp"):
                    nmeta["deletionTimestamp"] = now_rfc3339()
                    nmeta["deletionGracePeriodSeconds"] = (
                        0 if not graceful else nmeta["deletionGracePeriodSeconds"]
                    )
                if new == old:
                    return current, False
                if dry_run:
                    return Entry(new, dumps(new), current.rv), False
                return self._commit(resource, new, "MODIFIED", old), False
            if dry_run:
                return current, True
            entry = self._commit(resource, new, "DELETED", old)
            if resource == "services":
                for ip in new.get("spec", {}).get("clusterIPs") or []:
                    if self._ip_pool.contains(ip):
                        self._ip_pool.release(ip)
            return entry, True
        raise errors.conflict(rt.plural, rt.group, name, errors.STALE)

    async def _delete_namespace_contents(self, namespace: str, user: UserInfo) -> None:
        for rt in resources.RESOURCES:
            if not rt.namespaced or not rt.stored:
                continue
            for e in self.entries(rt.plural, namespace):
                try:
                    await self.delete_entry(
                        rt.plural, namespace, e.obj["metadata"]["name"], grace_period_seconds=0, user=user
                    )
                except APIError as exc:
                    if exc.code != 404:
                        log.warning(
                            "deleting %s/%s in %s: %s", rt.plural, e.obj["metadata"]["name"], namespace, exc
                        )

    async def delete_collection(
        self,
        resource: str,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        user: UserInfo = SYSTEM,
        dry_run: bool = False,
    ) -> ObjList:
        out = []
        for e in self.entries(
            resource, namespace, label_selector=label_selector, field_selector=field_selector
        ):
            meta = e.obj["metadata"]
            try:
                entry, _ = await self.delete_entry(
                    resource,
                    meta.get("namespace"),
                    meta["name"],
                    grace_period_seconds=grace_period_seconds,
                    propagation_policy=propagation_policy,
                    user=user,
                    dry_run=dry_run,
                )
            except APIError as exc:
                if exc.code == 404:
                    continue
                raise
            out.append(copy.deepcopy(entry.obj))
        return out


__all__ = [
    "BOOTSTRAP_NAMESPACES",
    "Entry",
    "Store",
    "Watch",
    "WatchEvent",
    "decode_continue",
    "dumps",
    "encode_continue",
    "now_rfc3339",
]
