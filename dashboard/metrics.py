"""Prometheus metrics for /metrics: HTTP requests, websocket clients, and the watch hub's counters.

A registry of our own, so tests can import this module many times and nothing registers twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "switchyard_http_requests",
    "HTTP requests served, by method, view and status code.",
    ["method", "view", "code"],
    registry=REGISTRY,
)
WEBSOCKET_CLIENTS = Gauge(
    "switchyard_websocket_clients", "Websocket clients connected now, by page.", ["page"], registry=REGISTRY
)


class RequestCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else "unmatched"  # bounded label values, not paths
        HTTP_REQUESTS.labels(request.method or "", view, str(response.status_code)).inc()
        return response


class WatchHubCollector(Collector):
    """Reads the hub's plain counters at scrape time (kube/ itself knows nothing about Prometheus)."""

    def collect(self) -> Iterator[Metric]:
        from dashboard.hub import _hub  # the hub as it is; a scrape must not start one

        labels = ["cluster", "kind"]
        reconnects = CounterMetricFamily(
            "switchyard_watch_reconnects", "Watch connections lost and retried.", labels=labels
        )
        events = CounterMetricFamily(
            "switchyard_watch_events", "Watch events applied to the cache.", labels=labels
        )
        lists = CounterMetricFamily(
            "switchyard_watch_list_calls", "List requests (start-up and relists).", labels=labels
        )
        connected = GaugeMetricFamily(
            "switchyard_watch_connected", "1 while the watch is connected.", labels=labels
        )
        age = GaugeMetricFamily(
            "switchyard_watch_last_event_age_seconds",
            "Seconds since the last watch event or bookmark.",
            labels=labels,
        )
        for informer in _hub.informers() if _hub is not None else []:
            state = informer.state()
            key = [informer.cluster.name, informer.kind.name]
            reconnects.add_metric(key, state.reconnects)
            events.add_metric(key, state.events)
            lists.add_metric(key, state.list_calls)
            connected.add_metric(key, 1.0 if state.connected else 0.0)
            last = state.last_event_age()
            if last is not None:
                age.add_metric(key, last)
        yield from (reconnects, events, lists, connected, age)


REGISTRY.register(WatchHubCollector())
