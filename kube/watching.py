"""The watch hub: one list+watch per (cluster, kind), shared by every browser.

Informer semantics as client-go's reflector: list, then watch from the list's resourceVersion with
bookmarks; a watch that ends normally (timeoutSeconds) is re-opened from the last resourceVersion without
a list; `410 Gone` or a broken connection means we cannot know what we missed, so we relist, after a
jittered exponential backoff for errors. The official client is blocking, so each informer lives in its
own daemon thread and never touches an event loop; changes leave through a callback that must not block
(the dashboard hands them to its loop with `call_soon_threadsafe`).

`list_calls` counts every list request, so a test and the bench can show that an idle hub only watches.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from kube.clusters import Cluster
from kube.errors import KubeError

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds
Obj = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    name: str  # the resource, as kubectl says it: "deployments"
    group: str  # "core" or "apps"
    list_all: str  # the client method that lists across namespaces (or the cluster-scoped list)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("namespaces", "core", "list_namespace"),
        Kind("deployments", "apps", "list_deployment_for_all_namespaces"),
        Kind("replicasets", "apps", "list_replica_set_for_all_namespaces"),
        Kind("pods", "core", "list_pod_for_all_namespaces"),
        Kind("services", "core", "list_service_for_all_namespaces"),
        Kind("endpoints", "core", "list_endpoints_for_all_namespaces"),
        Kind("events", "core", "list_event_for_all_namespaces"),
        Kind("resourcequotas", "core", "list_resource_quota_for_all_namespaces"),
        Kind("limitranges", "core", "list_limit_range_for_all_namespaces"),
    )
}

# Change.type values beyond the API's ADDED/MODIFIED/DELETED.
RELISTED = "RELISTED"  # the cache was replaced by a fresh list
STATE = "STATE"  # connection state changed (connected, reconnecting, error)


@dataclass(frozen=True)
class Change:
    cluster: str
    kind: str
    type: str
    namespace: str = ""
    name: str = ""


ChangeCallback = Callable[[Change], None]


@dataclass(frozen=True)
class ConnectionState:
    connected: bool
    synced: bool  # the cache has been filled by at least one list
    reconnecting_since: float | None  # time.time() of the first failure in the current outage
    last_event_at: float | None  # time.time() of the last watch event, bookmark or list
    last_error: str
    resource_version: str
    list_calls: int
    watch_calls: int
    reconnects: int
    events: int

    def last_event_age(self, now: float | None = None) -> float | None:
        if self.last_event_at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.last_event_at)


class _Gone(Exception):
    """The server no longer has our resourceVersion (410): relist."""


def _api(api_client: client.ApiClient, kind: Kind) -> Any:
    return client.AppsV1Api(api_client) if kind.group == "apps" else client.CoreV1Api(api_client)


def _key(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Informer:
    """A cache of one kind in one cluster, kept current by list+watch in a daemon thread."""

    def __init__(
        self,
        cluster: Cluster,
        kind: Kind,
        *,
        on_change: ChangeCallback | None = None,
        watch_timeout: float = 300.0,
        page_size: int = 500,
        backoff_base: float = 0.25,
        backoff_max: float = 30.0,
    ) -> None:
        self.cluster = cluster
        self.kind = kind
        self._on_change = on_change
        self._watch_timeout = watch_timeout
        self._page_size = page_size
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._lock = threading.Lock()
        self._cache: dict[Key, Obj] = {}
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: Any = None  # the open watch response, closed by stop()
        self._connected = False
        self._reconnecting_since: float | None = None
        self._last_event_at: float | None = None
        self._last_error = ""
        self._rv = ""
        self.list_calls = 0
        self.watch_calls = 0
        self.reconnects = 0
        self.events = 0

    # -- reading the cache (any thread) -------------------------------------------------------------

    def items(self, namespace: str | None = None) -> list[Obj]:
        """Cached objects (shared dicts: do not modify), all or in one namespace, sorted by name."""
        with self._lock:
            found = [o for (ns, _), o in self._cache.items() if namespace is None or ns == namespace]
        return sorted(found, key=lambda o: _key(o))

    def get(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._cache.get((namespace, name))

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def state(self) -> ConnectionState:
        with self._lock:
            return ConnectionState(
                connected=self._connected,
                synced=self._synced.is_set(),
                reconnecting_since=self._reconnecting_since,
                last_event_at=self._last_event_at,
                last_error=self._last_error,
                resource_version=self._rv,
                list_calls=self.list_calls,
                watch_calls=self.watch_calls,
                reconnects=self.reconnects,
                events=self.events,
            )

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"informer-{self.cluster.name}-{self.kind.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            # Unblocks the thread's read; shutdown() reaches the socket, close() alone may not.
            for method in ("shutdown", "close"):
                with contextlib.suppress(Exception):  # already closed: nothing left to unblock
                    getattr(response, method)()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------------------

    def _notify(self, change_type: str, key: Key = ("", "")) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(Change(self.cluster.name, self.kind.name, change_type, key[0], key[1]))
        except Exception:
            log.exception("change callback failed for %s/%s", self.cluster.name, self.kind.name)

    def _run(self) -> None:
        need_list = True
        failures = 0
        while not self._stop.is_set():
            api_client: client.ApiClient | None = None
            try:
                api_client = self.cluster.api_client()
                api = _api(api_client, self.kind)
                if need_list:
                    self._relist(api)
                    need_list = False
                if self._mark_connected():
                    self._notify(STATE)
                failures = 0
                self._watch(api)  # returns when the server ends the watch; re-watch from our resourceVersion
            except _Gone:
                need_list = True
            except Exception as exc:
                if self._stop.is_set():
                    break
                need_list = True  # what happened while we were away is unknown: relist on reconnect
                failures += 1
                self._mark_failed(exc)
                self._notify(STATE)
                delay = min(self._backoff_max, self._backoff_base * 2 ** min(failures - 1, 16))
                self._stop.wait(delay * random.uniform(0.5, 1.0))  # jitter spreads out many dashboards
            finally:
                self._response = None
                if api_client is not None:
                    api_client.close()  # type: ignore[no-untyped-call]
        with self._lock:
            self._connected = False

    def _mark_connected(self) -> bool:
        with self._lock:
            changed = not self._connected
            self._connected = True
            self._reconnecting_since = None
            self._last_error = ""
        return changed

    def _mark_failed(self, exc: Exception) -> None:
        if isinstance(exc, ApiException):
            message = KubeError.from_api_exception(exc).message
        else:
            message = f"{type(exc).__name__}: {exc}"
        log.warning("watch %s/%s failed: %s", self.cluster.name, self.kind.name, message)
        with self._lock:
            if self._connected or self._reconnecting_since is None:
                self._reconnecting_since = time.time()
            self._connected = False
            self._last_error = message[:500]
            self.reconnects += 1

    def _relist(self, api: Any) -> None:
        fresh: dict[Key, Obj] = {}
        token: str | None = None
        rv = ""
        while True:
            kwargs: dict[str, Any] = {"limit": self._page_size, "_preload_content": False}
            if token:
                kwargs["_continue"] = token
            with self._lock:
                self.list_calls += 1
            response = getattr(api, self.kind.list_all)(**kwargs, _request_timeout=(5, 60))
            body = json.loads(response.data)
            for item in body.get("items") or []:
                fresh[_key(item)] = item
            meta = body.get("metadata") or {}
            rv = str(meta.get("resourceVersion") or rv)
            token = meta.get("continue") or None
            if not token:
                break
        with self._lock:
            self._cache = fresh
            self._rv = rv
            self._last_event_at = time.time()
        self._synced.set()
        self._notify(RELISTED)

    def _watch(self, api: Any) -> None:
        # Servers end a watch after timeoutSeconds; a jittered value spreads re-watches (client-go: 5 to 10 min).
        timeout = max(1, int(self._watch_timeout * random.uniform(1.0, 1.25)))
        with self._lock:
            self.watch_calls += 1
            rv = self._rv
        response = getattr(api, self.kind.list_all)(
            watch=True,
            resource_version=rv,
            allow_watch_bookmarks=True,
            timeout_seconds=timeout,
            _preload_content=False,
            _request_timeout=(5, timeout + 30),
        )
        self._response = response
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                if self._stop.is_set():
                    return
                if line:
                    self._apply(json.loads(line))
        finally:
            response.release_conn()

    def _apply(self, event: Obj) -> None:
        kind = str(event.get("type") or "")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone()
            raise KubeError(
                int(obj.get("code") or 500), str(obj.get("reason") or ""), str(obj.get("message") or "")
            )
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        key = _key(obj)
        with self._lock:
            if rv:
                self._rv = rv
            self._last_event_at = time.time()
            if kind == "BOOKMARK":
                return
            self.events += 1
            if kind == "DELETED":
                self._cache.pop(key, None)
            else:
                self._cache[key] = obj
        self._notify(kind, key)


class WatchHub:
    """Informers for every (cluster, kind) anyone asked for, started on first use and shared."""

    def __init__(
        self,
        clusters: Iterable[Cluster],
        *,
        on_change: ChangeCallback | None = None,
        watch_timeout: float = 300.0,
        backoff_base: float = 0.25,
        backoff_max: float = 30.0,
    ) -> None:
        self.clusters: dict[str, Cluster] = {c.name: c for c in clusters}
        self._on_change = on_change
        self._watch_timeout = watch_timeout
        self._backoff = (backoff_base, backoff_max)
        self._lock = threading.Lock()
        self._informers: dict[tuple[str, str], Informer] = {}
        self._stopped = False

    def informer(self, cluster: str, kind: str) -> Informer:
        """The running informer for (cluster, kind); KeyError for an unknown cluster or kind."""
        with self._lock:
            found = self._informers.get((cluster, kind))
            if found is None:
                if self._stopped:
                    raise RuntimeError("the watch hub has been stopped")
                found = Informer(
                    self.clusters[cluster],
                    KINDS[kind],
                    on_change=self._on_change,
                    watch_timeout=self._watch_timeout,
                    backoff_base=self._backoff[0],
                    backoff_max=self._backoff[1],
                )
                self._informers[(cluster, kind)] = found
                found.start()
        return found

    def ensure(self, cluster: str, kinds: Iterable[str] = KINDS) -> list[Informer]:
        return [self.informer(cluster, kind) for kind in kinds]

    def informers(self) -> list[Informer]:
        with self._lock:
            return list(self._informers.values())

    @property
    def list_calls(self) -> int:
        return sum(i.state().list_calls for i in self.informers())

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            informers = list(self._informers.values())
        for informer in informers:
            informer._stop.set()  # all at once, then join each
        for informer in informers:
            informer.stop()
