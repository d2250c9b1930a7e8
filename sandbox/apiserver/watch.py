"""HTTP watch streams: newline-delimited `{"type", "object"}` events from a storage `Watch`.

Bookmarks (with `allowWatchBookmarks=true`) every `BOOKMARK_INTERVAL` seconds of silence and just before
`timeoutSeconds` ends; `sendInitialEvents=true` ends its synthetic ADDED events with a bookmark annotated
`k8s.io/initial-events-end`. A resourceVersion older than the kept window gets a 200 stream with one
`ERROR` event carrying a 410 Expired Status, as Kubernetes sends it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.resources import ResourceType
from sandbox.apiserver.storage import Store, Watch, WatchEvent, dumps

BOOKMARK_INTERVAL = 10.0
DEFAULT_TIMEOUT = 1800.0

TableFn = Callable[[list[dict[str, Any]], bool], dict[str, Any]]


def _line(etype: str, raw: bytes) -> bytes:
    return b'{"type":"' + etype.encode() + b'","object":' + raw + b"}\n"


def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return _line("BOOKMARK", dumps({"kind": rt.kind, "apiVersion": rt.group_version, "metadata": meta}))


async def serve_watch(
    request: web.Request,
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    query: dict[str, str],
    table: TableFn | None,
) -> web.StreamResponse:
    predicate = store.selector_predicate(rt.plural, query.get("labelSelector"), query.get("fieldSelector"))
    bookmarks = query.get("allowWatchBookmarks") == "true"
    send_initial = query.get("sendInitialEvents")
    try:
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else DEFAULT_TIMEOUT
    except ValueError:
        raise APIError(400, "BadRequest", f"invalid timeoutSeconds: {query['timeoutSeconds']}") from None
    timeout = max(0.0, min(timeout, DEFAULT_TIMEOUT))
    resp = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
    )
    resp.enable_chunked_encoding()
    watch: Watch | None = None
    try:
        watch = store.watch(
            rt.plural,
            namespace,
            query.get("resourceVersion"),
            predicate=predicate,
            send_initial_events=True
            if send_initial == "true"
            else (False if send_initial == "false" else None),
        )
    except APIError as exc:
        if exc.code != 410:
            raise
        await resp.prepare(request)
        await resp.write(_line("ERROR", dumps(exc.status())))
        await resp.write_eof()
        return resp
    initial = watch.queue.qsize() if send_initial == "true" else -1
    await resp.prepare(request)
    first_table = True
    deadline = time.monotonic() + timeout
    last_sent = time.monotonic()
    try:
        if initial == 0 and bookmarks:
            await resp.write(_bookmark(rt, store.resource_version, True))
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if bookmarks:
                    await resp.write(_bookmark(rt, store.resource_version))
                break
            wait = (
                min(remaining, BOOKMARK_INTERVAL - (time.monotonic() - last_sent)) if bookmarks else remaining
            )
            # Wake up now and then to notice a client that went away without a write failing.
            ev: WatchEvent | None = await watch.next(max(min(wait, 5.0), 0.0))
            if ev is None:
                if watch.closed or request.transport is None or request.transport.is_closing():
                    break
                if bookmarks and time.monotonic() - last_sent >= BOOKMARK_INTERVAL - 0.01:
                    await resp.write(_bookmark(rt, store.resource_version))
                    last_sent = time.monotonic()
                continue
            if table is not None:
                t = table([ev.obj], first_table)
                first_table = False
                await resp.write(_line(ev.type, dumps(t)))
            else:
                await resp.write(_line(ev.type, ev.raw))
            last_sent = time.monotonic()
            if initial > 0:
                initial -= 1
                if initial == 0 and bookmarks:
                    await resp.write(_bookmark(rt, store.resource_version, True))
        await resp.write_eof()
    except ConnectionResetError:
        pass
    finally:
        watch.close()
    return resp


def parse_event_line(line: bytes) -> dict[str, Any]:
    """Decode one event line (tests and bench read streams with it)."""
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("watch event is not an object")
    return value
