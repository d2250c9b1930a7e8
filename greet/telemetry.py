"""Structured logs and Prometheus metrics for the greet gRPC servers (server interceptors)."""

from __future__ import annotations

import inspect
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from prometheus_client import Counter, Histogram, start_http_server

# Names follow go-grpc-prometheus so existing dashboards and queries apply unchanged.
GRPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
GRPC_HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time from the start of an RPC to its status, by method.",
    ["grpc_service", "grpc_method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

log = logging.getLogger("greet")


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line; fields passed via ``extra={"fields": {...}}`` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def start_metrics_server(host: str, port: int) -> int:
    """Serve the default registry on ``host:port`` (a daemon thread) and return the bound port."""
    httpd, _thread = start_http_server(port, addr=host)
    return int(httpd.server_port)


def _split_method(full_method: str) -> tuple[str, str]:
    # "/greet.v1.GreetService/Greet" -> ("greet.v1.GreetService", "Greet")
    service, _, method = full_method.lstrip("/").partition("/")
    return service, method


def _code_name(context: grpc.aio.ServicerContext[Any, Any], error: BaseException | None) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if error is None:
        return "OK"
    if isinstance(error, grpc.aio.AbortError):
        return "UNKNOWN"
    return "CANCELLED" if context.cancelled() else "UNKNOWN"


class TelemetryInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Counts, times and logs (one JSON line) every RPC once it has a status."""

    def __init__(self, *, pod: str, log_rpcs: bool = True) -> None:
        self._pod = pod
        self._log_rpcs = log_rpcs

    def _finish(
        self,
        full_method: str,
        context: grpc.aio.ServicerContext[Any, Any],
        started: float,
        error: BaseException | None,
    ) -> None:
        elapsed = time.perf_counter() - started
        service, method = _split_method(full_method)
        code = _code_name(context, error)
        GRPC_HANDLED.labels(service, method, code).inc()
        GRPC_HANDLING_SECONDS.labels(service, method).observe(elapsed)
        if self._log_rpcs:
            log.info(
                "rpc",
                extra={
                    "fields": {
                        "method": full_method,
                        "code": code,
                        "duration_ms": round(elapsed * 1000, 3),
                        "peer": context.peer(),
                        "pod": self._pod,
                    }
                },
            )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        full_method = handler_call_details.method
        finish = self._finish

        def wrap_unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                started = time.perf_counter()
                error: BaseException | None = None
                try:
                    return await behavior(request, context)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    finish(full_method, context, started, error)

            return wrapped

        def wrap_stream(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
            async def wrapped(
                request: Any, context: grpc.aio.ServicerContext[Any, Any]
            ) -> AsyncIterator[Any]:
                started = time.perf_counter()
                error: BaseException | None = None
                try:
                    async for response in behavior(request, context):
                        yield response
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    finish(full_method, context, started, error)

            return wrapped

        des, ser = handler.request_deserializer, handler.response_serializer
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(wrap_unary(handler.unary_unary), des, ser)
        # Streaming handlers are either async generators or coroutines that use context.write().
        if handler.unary_stream:
            behavior: Any = handler.unary_stream  # the stubs describe the sync API
            wrap = wrap_stream if inspect.isasyncgenfunction(behavior) else wrap_unary
            return grpc.unary_stream_rpc_method_handler(wrap(behavior), des, ser)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(wrap_unary(handler.stream_unary), des, ser)
        if handler.stream_stream:
            behavior = handler.stream_stream
            wrap = wrap_stream if inspect.isasyncgenfunction(behavior) else wrap_unary
            return grpc.stream_stream_rpc_method_handler(wrap(behavior), des, ser)
        return handler
