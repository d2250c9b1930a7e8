"""Prometheus figures of the probes: requests by outcome, answers by version, latency, requested rate."""

from __future__ import annotations

import threading
import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ProbeMetrics:
    """One set per ``CollectorRegistry`` (a name may be registered once per registry): use ``for_registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "switchyard_probe_requests_total",
            "Probe requests by target and outcome (answered, failed, skipped) and code (OK or the error code).",
            ["target", "outcome", "code"],
            registry=registry,
        )
        self.answers = Counter(
            "switchyard_probe_answers_total",
            "Probe answers by target and the answering pod's version.",
            ["target", "version"],
            registry=registry,
        )
        self.seconds = Histogram(
            "switchyard_probe_request_seconds",
            "Probe request latency, answered or failed, by target.",
            ["target"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rate = Gauge(
            "switchyard_probe_rate",
            "Requested probe rate in req/s (0 when stopped).",
            ["target"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "switchyard_probe_in_flight", "Probe requests awaiting an answer.", ["target"], registry=registry
        )

    _by_registry: weakref.WeakKeyDictionary[CollectorRegistry, ProbeMetrics] = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    @classmethod
    def for_registry(cls, registry: CollectorRegistry = REGISTRY) -> ProbeMetrics:
        with cls._lock:
            metrics = cls._by_registry.get(registry)
            if metrics is None:
                metrics = cls._by_registry[registry] = cls(registry)
            return metrics
