"""Probes: greet requests at a chosen rate through a chosen path, tallied into a ``TrafficWindow``.

Scheduling is open-loop (a request leaves every 1/rate seconds whether or not earlier ones have
answered, as real clients do), with at most ``2 * rate * deadline`` requests in flight: since each one
ends at its deadline this bound is only reached when the event loop itself stalls, and then sends are
skipped (counted) rather than queued, so a slow backend can never make the probe unbounded. A stalled
loop does not burst to catch up either: at most ``CATCH_UP_S`` of missed sends are made up.

The gRPC paths reuse ``greet.balancing`` (the gateway's balancers and its one retry on UNAVAILABLE), so
the probe sees what a greet client sees. The HTTP path posts to the gateway with a pooled aiohttp
session; a kept-alive connection to a gateway behind a ClusterIP sticks to one gateway pod, which is
the gateway's business, not the probe's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, TypeVar

import aiohttp
import grpc
import grpc.aio
from prometheus_client import REGISTRY, CollectorRegistry

from dashboard.probe.aggregation import (
    DEFAULT_VERSION_KEYS,
    BucketStats,
    LabelsForPod,
    TrafficSnapshot,
    TrafficWindow,
)
from dashboard.probe.metrics import ProbeMetrics
from dashboard.probe.parsing import UNPARSEABLE, Answer, ParseError, parse_gateway_json, parse_greet_response
from greet.balancing import (
    MODES,
    Balancer,
    LookasideResolve,
    LookasideVariant,
    LookasideWatch,
    Mode,
    NoBackends,
    dns_target,
    greet_call,
    pick_first,
    round_robin,
)
from greet.gen.greet.v1 import greet_pb2
from greet.serving import split_hostport

log = logging.getLogger("dashboard.probe")

MIN_RATE = 1.0
MAX_RATE = 1000.0
DEFAULT_DEADLINE_S = 1.0
CATCH_UP_S = 1.0
GATEWAY_POOL_SIZE = 64  # concurrent connections to the gateway; more requests wait (within their deadline)
TIMEOUT = "timeout"  # the probe's own deadline passed (including the balancer's one retry)
NO_BACKENDS = "no_backends"
CONNECTION_ERROR = "connection_error"
GREETING = {"first_name": "Switchyard", "last_name": "Probe"}

T = TypeVar("T")


def clamp_rate(rate: float) -> float:
    if not math.isfinite(rate):
        raise ValueError(f"rate must be a number, not {rate!r}")
    return min(MAX_RATE, max(MIN_RATE, float(rate)))


@dataclass(frozen=True)
class ProbeTarget:
    """Where the probe sends: the gateway's URL, or gRPC straight to the servers with a balancing mode.

    - ``kind="gateway"``: ``url`` is the gateway's base URL (``/greet`` is appended unless present).
    - ``kind="grpc", balancing="pick_first"``: ``address`` host:port (a Service address); with
      ``dns_server`` the host is resolved there (``dns://`` target) and the first address is used.
    - ``kind="grpc", balancing="round_robin"``: ``address`` name:port of a headless Service, resolved
      through ``dns_server`` (empty: the system resolver), one subchannel per A record.
    - ``kind="grpc", balancing="lookaside"``: ``lookaside`` host:port, ``lookaside_variant``
      resolve|watch, and the ``service``/``namespace`` to ask about.
    """

    kind: Literal["gateway", "grpc"]
    url: str = ""
    balancing: Mode = "pick_first"
    address: str = ""
    dns_server: str = ""
    lookaside: str = ""
    lookaside_variant: LookasideVariant = "watch"
    service: str = "greetserver"
    namespace: str = "default"

    def __post_init__(self) -> None:
        if self.kind == "gateway":
            if not self.url.startswith(("http://", "https://")):
                raise ValueError(f"a gateway target needs an http(s) URL, not {self.url!r}")
        elif self.kind == "grpc":
            if self.balancing not in MODES:
                raise ValueError(f"balancing must be one of {', '.join(MODES)}, not {self.balancing!r}")
            if self.balancing == "lookaside":
                if self.lookaside_variant not in ("resolve", "watch"):
                    raise ValueError(
                        f"lookaside_variant must be resolve or watch, not {self.lookaside_variant!r}"
                    )
                split_hostport(self.lookaside)  # raises ValueError without a port
                if not self.service or not self.namespace:
                    raise ValueError("a lookaside target needs a service and a namespace")
            else:
                split_hostport(self.address)
        else:
            raise ValueError(f"kind must be gateway or grpc, not {self.kind!r}")

    @property
    def key(self) -> str:
        """One probe per key: what makes two targets the same traffic path."""
        if self.kind == "gateway":
            return f"gateway {self.greet_url}"
        if self.balancing == "lookaside":
            return f"grpc lookaside {self.lookaside_variant} {self.lookaside} {self.namespace}/{self.service}"
        dns = f" dns={self.dns_server}" if self.dns_server else ""
        return f"grpc {self.balancing} {self.address}{dns}"

    @property
    def greet_url(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/greet") else f"{base}/greet"

    def as_dict(self) -> dict[str, str]:
        fields = asdict(self)
        if self.kind == "gateway":
            fields = {"kind": self.kind, "url": self.url}
        elif self.balancing != "lookaside":
            for name in ("lookaside", "lookaside_variant", "service", "namespace"):
                fields.pop(name)
        return {k: v for k, v in fields.items() if v} | {"key": self.key}


class RequestFailed(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class Sender(Protocol):
    async def start(self) -> None: ...

    async def send(self) -> Answer:
        """One greet request; raises ``RequestFailed`` or ``ParseError``."""
        ...

    async def close(self) -> None: ...


class GrpcSender:
    def __init__(self, balancer: Balancer, deadline: float) -> None:
        self.balancer = balancer
        self.deadline = deadline
        self._request = greet_pb2.GreetRequest(greeting=greet_pb2.Greeting(**GREETING))

    async def start(self) -> None:
        await self.balancer.start()
        if isinstance(self.balancer, LookasideWatch):
            # Without backends yet, the first requests would spend their deadline waiting for them.
            await self.balancer.wait_synced(2 * self.deadline)

    async def send(self) -> Answer:
        try:
            response = await greet_call(self.balancer, self._request, timeout=self.deadline)
        except grpc.aio.AioRpcError as error:
            raise RequestFailed(error.code().name, error.details() or "") from error
        except NoBackends as error:
            raise RequestFailed(NO_BACKENDS, str(error)) from error
        return parse_greet_response(response)

    async def close(self) -> None:
        await self.balancer.close()


class GatewaySender:
    def __init__(self, url: str) -> None:
        self.url = url
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=GATEWAY_POOL_SIZE))

    async def send(self) -> Answer:
        assert self._session is not None, "start() first"
        try:
            async with self._session.post(
                self.url, json=GREETING, headers={"Accept": "application/json"}
            ) as response:
                body = await response.read()
        except aiohttp.ClientError as error:
            raise RequestFailed(CONNECTION_ERROR, str(error)) from error
        if response.status != 200:
            raise RequestFailed(f"HTTP {response.status}", body[:200].decode(errors="replace"))
        return parse_gateway_json(body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def sender_for(target: ProbeTarget, deadline: float) -> Sender:
    """Build the sender (and its balancer) on the running loop: gRPC channels belong to one loop."""
    if target.kind == "gateway":
        return GatewaySender(target.greet_url)
    balancer: Balancer
    if target.balancing == "lookaside":
        if target.lookaside_variant == "watch":
            balancer = LookasideWatch(target.lookaside, target.service, target.namespace)
        else:
            balancer = LookasideResolve(target.lookaside, target.service, target.namespace, timeout=deadline)
    elif target.balancing == "round_robin":
        host, port = split_hostport(target.address)
        balancer = round_robin(host, port, dns_server=target.dns_server or None)
    elif target.dns_server:
        host, port = split_hostport(target.address)
        balancer = pick_first(dns_target(host, port, target.dns_server))
    else:
        balancer = pick_first(target.address)
    return GrpcSender(balancer, deadline)


@dataclass(frozen=True)
class ProbeStatus:
    key: str
    running: bool
    rate: float
    target: dict[str, str]
    started_at: float | None  # wall clock, of the current (or last) run
    sent: int
    answered: int
    failed: int
    skipped: int  # sends dropped because the in-flight bound was reached or the loop stalled
    in_flight: int
    errors_by_code: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Probe:
    """Sends greet requests to ``target`` at ``rate`` req/s (clamped to 1-1000) on the loop it is started on."""

    def __init__(
        self,
        target: ProbeTarget,
        rate: float = 10.0,
        *,
        deadline: float = DEFAULT_DEADLINE_S,
        window: TrafficWindow | None = None,
        labels_for_pod: LabelsForPod | None = None,
        version_keys: Sequence[str] = DEFAULT_VERSION_KEYS,
        metrics_registry: CollectorRegistry = REGISTRY,
    ) -> None:
        if deadline <= 0:
            raise ValueError("deadline must be positive")
        self.target = target
        self.deadline = deadline
        self.window = window or TrafficWindow(labels_for_pod=labels_for_pod, version_keys=version_keys)
        self._rate = clamp_rate(rate)
        self._metrics = ProbeMetrics.for_registry(metrics_registry)
        # Per-request children looked up once: labels() takes a lock and hashes on every call.
        self._in_flight_gauge = self._metrics.in_flight.labels(self.key)
        self._seconds_histogram = self._metrics.seconds.labels(self.key)
        self._answered_counter = self._metrics.requests.labels(self.key, "answered", "OK")
        self._sender: Sender | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Future[None] | None = None
        self._started_at: float | None = None
        self._sent = self._answered = self._failed = self._skipped = 0
        self._errors = Counter[str]()

    @property
    def key(self) -> str:
        return self.target.key

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    @property
    def max_in_flight(self) -> int:
        return max(4, math.ceil(2 * self._rate * self.deadline))

    async def start(self) -> None:
        if self.running:
            return
        sender = sender_for(self.target, self.deadline)
        await sender.start()
        self._sender = sender
        self._started_at = time.time()
        self._metrics.rate.labels(self.key).set(self._rate)
        self._tasks = [
            asyncio.create_task(self._schedule(), name=f"probe-schedule {self.key}"),
            asyncio.create_task(self._tick(), name=f"probe-tick {self.key}"),
        ]
        log.info("probe started", extra={"fields": {"target": self.key, "rate": self._rate}})

    async def stop(self) -> None:
        """Stop sending, let requests in flight finish (they end by their deadline), close the channels."""
        if not self.running:
            return
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._in_flight:
            _done, pending = await asyncio.wait(set(self._in_flight), timeout=self.deadline + 0.5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.window.tick()  # close the last full second now rather than leave it to readers
        if self._sender is not None:
            await self._sender.close()
            self._sender = None
        self._metrics.rate.labels(self.key).set(0)
        log.info("probe stopped", extra={"fields": {"target": self.key, "sent": self._sent}})

    def set_rate(self, rate: float) -> float:
        """Clamp and apply at once (the schedule restarts from now). Call on the probe's loop."""
        self._rate = clamp_rate(rate)
        if self.running:
            self._metrics.rate.labels(self.key).set(self._rate)
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        return self._rate

    def status(self) -> ProbeStatus:
        return ProbeStatus(
            key=self.key,
            running=self.running,
            rate=self._rate,
            target=self.target.as_dict(),
            started_at=self._started_at,
            sent=self._sent,
            answered=self._answered,
            failed=self._failed,
            skipped=self._skipped,
            in_flight=len(self._in_flight),
            errors_by_code=dict(sorted(self._errors.items())),
        )

    async def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            rate = self._rate
            interval = 1.0 / rate
            now = loop.time()
            behind = now - next_at
            if behind > CATCH_UP_S:
                missed = int((behind - CATCH_UP_S) / interval)
                self._skip(missed)
                next_at += missed * interval
            while next_at <= now:
                if len(self._in_flight) >= self.max_in_flight:
                    self._skip(1)
                else:
                    self._launch()
                next_at += interval
            self._wake = loop.create_future()
            timer = loop.call_at(next_at, _resolve, self._wake)
            try:
                await self._wake
            finally:
                timer.cancel()
            if self._rate != rate:
                next_at = loop.time()  # a new rate starts now, not after the old interval

    async def _tick(self) -> None:
        # Close each bucket just after its end, so viewers hear of it even when no answer arrives.
        while True:
            now = self.window.clock()
            width = self.window.bucket_s
            await asyncio.sleep((math.floor(now / width) + 1) * width - now + 0.001)
            self.window.tick()

    def _skip(self, n: int) -> None:
        if n > 0:
            self._skipped += n
            self._metrics.requests.labels(self.key, "skipped", "").inc(n)

    def _launch(self) -> None:
        task = asyncio.create_task(self._one())
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        self._sent += 1

    async def _one(self) -> None:
        sender = self._sender
        assert sender is not None
        in_flight = self._in_flight_gauge
        in_flight.inc()
        started = time.perf_counter()
        answer: Answer | None = None
        code = ""
        try:
            async with asyncio.timeout(self.deadline):
                answer = await sender.send()
        except TimeoutError:
            code = TIMEOUT
        except RequestFailed as error:
            code = error.code
        except ParseError:
            code = UNPARSEABLE
        except Exception as error:  # a probe must keep probing; say what it was
            code = type(error).__name__
            log.warning("probe request failed unexpectedly", exc_info=True)
        finally:
            in_flight.dec()
        latency = time.perf_counter() - started
        self._seconds_histogram.observe(latency)
        if answer is not None:
            self._answered += 1
            version = self.window.record_answer(answer, latency)
            self._answered_counter.inc()
            self._metrics.answers.labels(self.key, version).inc()
        else:
            self._failed += 1
            self._errors[code] += 1
            self.window.record_error(code, latency)
            self._metrics.requests.labels(self.key, "failed", code).inc()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ProbeRegistry:
    """One probe per target key, shared by every viewer; lives on the event loop it is used from."""

    def __init__(
        self,
        *,
        labels_for_pod: LabelsForPod | None = None,
        version_keys: Sequence[str] = DEFAULT_VERSION_KEYS,
        deadline: float = DEFAULT_DEADLINE_S,
        metrics_registry: CollectorRegistry = REGISTRY,
        on_bucket_closed: Callable[[str, BucketStats], None] | None = None,
    ) -> None:
        self.labels_for_pod = labels_for_pod
        self.version_keys = tuple(version_keys)
        self.deadline = deadline
        self.metrics_registry = metrics_registry
        self.on_bucket_closed = on_bucket_closed
        self._probes: dict[str, Probe] = {}
        self._lock = asyncio.Lock()

    async def get_or_create(self, target: ProbeTarget, rate: float = 10.0, *, start: bool = True) -> Probe:
        """The probe for ``target`` (created at ``rate`` if new; an existing probe keeps its rate)."""
        async with self._lock:  # two viewers asking at once must not start two probes
            probe = self._probes.get(target.key)
            if probe is None:
                probe = Probe(
                    target,
                    rate,
                    deadline=self.deadline,
                    window=TrafficWindow(
                        labels_for_pod=self.labels_for_pod,
                        version_keys=self.version_keys,
                        on_close=self._closed_callback(target.key),
                    ),
                    metrics_registry=self.metrics_registry,
                )
                self._probes[target.key] = probe
            if start and not probe.running:
                await probe.start()
            return probe

    def _closed_callback(self, key: str) -> Callable[[BucketStats], None] | None:
        callback = self.on_bucket_closed
        if callback is None:
            return None
        return lambda bucket: callback(key, bucket)

    def get(self, key: str) -> Probe | None:
        return self._probes.get(key)

    async def stop(self, key: str) -> bool:
        """Stop the probe (its window stays readable); False if there is none."""
        async with self._lock:
            probe = self._probes.get(key)
            if probe is None:
                return False
            await probe.stop()
            return True

    async def remove(self, key: str) -> bool:
        async with self._lock:
            probe = self._probes.pop(key, None)
            if probe is None:
                return False
            await probe.stop()
            return True

    def list(self) -> list[ProbeStatus]:
        return [probe.status() for probe in list(self._probes.values())]

    async def close(self) -> None:
        async with self._lock:
            await asyncio.gather(*(probe.stop() for probe in self._probes.values()))

    @classmethod
    def run_in_thread(cls, **kwargs: Any) -> ThreadedProbeRegistry:
        """A registry on its own event loop thread, for sync callers (Django views, management commands)."""
        return ThreadedProbeRegistry(lambda: cls(**kwargs))


class ThreadedProbeRegistry:
    """Owns a daemon thread running an event loop with a ``ProbeRegistry``; every method is sync and
    thread-safe (it runs the work on that loop via ``run_coroutine_threadsafe``). ``close()`` stops the
    probes and the thread."""

    def __init__(self, make_registry: Callable[[], ProbeRegistry], *, call_timeout: float = 10.0) -> None:
        self.call_timeout = call_timeout
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe-loop", daemon=True)
        self._registry: ProbeRegistry | None = None
        self._make_registry = make_registry
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._registry = self._make_registry()
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()
        self.loop.close()

    @property
    def registry(self) -> ProbeRegistry:
        assert self._registry is not None
        return self._registry

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the probe loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(self.call_timeout)

    def _on_loop(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return self.call(run())

    def get_or_create(self, target: ProbeTarget, rate: float = 10.0, *, start: bool = True) -> ProbeStatus:
        async def run() -> ProbeStatus:
            return (await self.registry.get_or_create(target, rate, start=start)).status()

        return self.call(run())

    def set_rate(self, key: str, rate: float) -> ProbeStatus:
        def apply() -> ProbeStatus:
            probe = self.registry.get(key)
            if probe is None:
                raise KeyError(key)
            probe.set_rate(rate)
            return probe.status()

        return self._on_loop(apply)

    def stop(self, key: str) -> bool:
        return self.call(self.registry.stop(key))

    def remove(self, key: str) -> bool:
        return self.call(self.registry.remove(key))

    def list(self) -> list[ProbeStatus]:
        return self._on_loop(self.registry.list)

    def window(self, key: str) -> TrafficWindow | None:
        """The probe's window; reading it (snapshot, share_since...) is safe from any thread."""
        probe = self._on_loop(lambda: self.registry.get(key))
        return probe.window if probe is not None else None

    def snapshot(self, key: str, last_seconds: float = 60.0) -> TrafficSnapshot | None:
        window = self.window(key)
        return window.snapshot(last_seconds) if window is not None else None

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.call(self.registry.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(self.call_timeout)

    def __enter__(self) -> ThreadedProbeRegistry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
