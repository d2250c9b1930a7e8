"""The process's one watch hub, built from settings, and the bridge from its threads to Channels groups."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from channels.layers import get_channel_layer
from django.conf import settings

from kube.clusters import Cluster, cluster_list
from kube.watching import Change, Informer, WatchHub

log = logging.getLogger(__name__)

_lock = threading.Lock()
_hub: WatchHub | None = None
_loop: asyncio.AbstractEventLoop | None = None

# What the overview shows; informers for these start when a page first asks for a cluster.
OVERVIEW_KINDS = ("namespaces", "deployments", "pods", "services", "endpoints")


def group_name(cluster: str, kind: str) -> str:
    """A Channels group for one (cluster, kind): group names allow only [A-Za-z0-9._-] and < 100 chars."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", cluster)[:40]
    digest = hashlib.sha1(cluster.encode()).hexdigest()[:8]
    return f"kube.{safe}.{digest}.{kind}"


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Remember the server's event loop; consumers call this on connect, so notifications reach them."""
    global _loop
    _loop = loop


def _forward(change: Change) -> None:
    # Runs in an informer thread: hand the send to the event loop, never block here.
    loop = _loop
    if loop is None or loop.is_closed():
        return
    layer = get_channel_layer()
    if layer is None:
        return
    message = {
        "type": "kube.changed",
        "cluster": change.cluster,
        "kind": change.kind,
        "change": change.type,
        "namespace": change.namespace,
        "name": change.name,
    }
    group = group_name(change.cluster, change.kind)

    def send() -> None:
        task = loop.create_task(layer.group_send(group, message))
        task.add_done_callback(_log_failure)

    with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
        loop.call_soon_threadsafe(send)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("group_send failed: %s", task.exception())


def clusters() -> list[Cluster]:
    return cluster_list(kubeconfig=settings.SWITCHYARD_KUBECONFIG, allow=settings.SWITCHYARD_CONTEXTS or None)


def get_hub() -> WatchHub:
    global _hub
    with _lock:
        if _hub is None or not _hub.clusters:  # no kubeconfig yet: look again next time
            _hub = WatchHub(clusters(), on_change=_forward)
        return _hub


def reset_hub() -> None:
    """Stop the hub; the next get_hub() reads the kubeconfig again (tests, settings changes)."""
    global _hub
    with _lock:
        hub, _hub = _hub, None
    if hub is not None:
        hub.stop()


@dataclass(frozen=True)
class ClusterView:
    """One cluster a page reads, with its informers started and (up to a deadline) synced."""

    cluster: str  # the chosen cluster's name
    clusters: list[str]  # every configured cluster, for the picker
    namespace: str  # the kubeconfig context's namespace
    informers: dict[str, Informer]  # by kind name


def _chosen(hub: WatchHub, wanted: str | None) -> str | None:
    return wanted if wanted in hub.clusters else next(iter(hub.clusters), None)


def cluster_choose(wanted: str | None) -> str | None:
    """``wanted`` if the hub knows that cluster, else the first configured one; None when there is none."""
    return _chosen(get_hub(), wanted)


def _synced(hub: WatchHub, cluster: str, kinds: Iterable[str], wait: float) -> dict[str, Informer]:
    informers = {i.kind.name: i for i in hub.ensure(cluster, kinds)}
    deadline = time.monotonic() + wait
    for informer in informers.values():
        informer.wait_synced(max(0.0, deadline - time.monotonic()))
    return informers


def informers_synced(cluster: str, kinds: Iterable[str], *, wait: float) -> dict[str, Informer]:
    """The informers of one known cluster by kind, started on first use; on a cold hub this waits up to
    ``wait`` seconds in all for their first lists, after that it only reads the cache."""
    return _synced(get_hub(), cluster, kinds, wait)


def informers_ready(cluster: str | None, kinds: Iterable[str], *, wait: float) -> ClusterView | None:
    """Pick ``cluster`` (or the first configured one, see cluster_choose) and get its informers synced as
    informers_synced does; None when no cluster is configured."""
    hub = get_hub()
    chosen = _chosen(hub, cluster)
    if chosen is None:
        return None
    return ClusterView(
        cluster=chosen,
        clusters=list(hub.clusters),
        namespace=hub.clusters[chosen].namespace,
        informers=_synced(hub, chosen, kinds, wait),
    )
