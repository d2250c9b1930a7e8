"""The REST gateway (the seed's "Greet Client"): ``POST /greet`` -> gRPC ``greet.v1.GreetService/Greet``.

Configuration comes from the environment (the seed's names) and flags; flags win.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import grpc
import grpc.aio
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from greet.balancing import (
    MODES,
    ROUTING_VALUES,
    Balancer,
    LookasideResolve,
    LookasideWatch,
    NoBackends,
    dns_target,
    greet_call,
    pick_first,
    round_robin,
)
from greet.gen.greet.v1 import greet_pb2
from greet.serving import join_hostport, split_hostport
from greet.telemetry import configure_logging

log = logging.getLogger("greet.gateway")

GATEWAY_REQUESTS = Counter(
    "greet_gateway_requests_total",
    "POST /greet answers, by HTTP status and answering pod.",
    ["status", "pod"],
)
GATEWAY_SECONDS = Histogram(
    "greet_gateway_request_seconds",
    "POST /greet latency, including the gRPC call.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# Close to grpc-gateway's mapping.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

BALANCER_KEY = web.AppKey("balancer", Balancer)
DEADLINE_KEY = web.AppKey("deadline", float)


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


def wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or "+json" in accept


class BadRequest(Exception):
    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


async def parse_greeting(request: web.Request) -> greet_pb2.GreetRequest:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(f"body is not valid JSON: {error}", None) from error
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object with first_name and last_name", None)
    for field in ("first_name", "last_name"):
        if field not in body:
            raise BadRequest(f"{field} is required", field)
        if not isinstance(body[field], str):
            raise BadRequest(f"{field} must be a string", field)
    return greet_pb2.GreetRequest(
        greeting=greet_pb2.Greeting(first_name=body["first_name"], last_name=body["last_name"])
    )


def _field_of(details: str) -> str | None:
    # The server names fields as "greeting.first_name ..."; report the JSON field name.
    head = details.split(" ", 1)[0]
    return head.removeprefix("greeting.") if head.startswith("greeting.") else None


async def greet_handler(request: web.Request) -> web.Response:
    started = time.perf_counter()
    status, pod = 500, ""
    try:
        try:
            greet_request = await parse_greeting(request)
        except BadRequest as error:
            status = 400
            return error_response(400, "INVALID_ARGUMENT", str(error), error.field)
        try:
            response = await greet_call(
                request.app[BALANCER_KEY], greet_request, timeout=request.app[DEADLINE_KEY]
            )
        except grpc.aio.AioRpcError as error:
            code = error.code()
            status = HTTP_STATUS.get(code, 500)
            details = error.details() or ""
            field = _field_of(details) if code is grpc.StatusCode.INVALID_ARGUMENT else None
            return error_response(status, code.name, details, field)
        except NoBackends as error:
            status = 503
            return error_response(503, "UNAVAILABLE", str(error))
        status, pod = 200, response.pod.name
        if wants_json(request):
            return web.json_response(
                {
                    "result": response.result,
                    "greeting": response.greeting,
                    "pod": {
                        "name": response.pod.name,
                        "ip": response.pod.ip,
                        "version": response.pod.version,
                    },
                }
            )
        return web.Response(text=response.result + "\n")
    finally:
        GATEWAY_REQUESTS.labels(str(status), pod).inc()
        GATEWAY_SECONDS.observe(time.perf_counter() - started)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def build_balancer(args: argparse.Namespace) -> Balancer:
    if args.balancing == "pick_first":
        if args.dns_server:
            return pick_first(dns_target(args.server_host, args.server_port, args.dns_server))
        return pick_first(join_hostport(args.server_host, args.server_port))
    if args.balancing == "round_robin":
        return round_robin(
            args.server_host,
            args.server_port,
            dns_server=args.dns_server or None,
            min_resolution_interval_ms=args.dns_min_resolution_ms,
        )
    # The balancer's own address is a cluster DNS name too (lookaside-svc.<ns>.svc.cluster.local).
    lookaside = args.lookaside
    if args.dns_server:
        lookaside = dns_target(*split_hostport(lookaside, 50055), args.dns_server)
    if args.lookaside_variant == "watch":
        return LookasideWatch(lookaside, args.service, args.namespace)
    return LookasideResolve(lookaside, args.service, args.namespace, args.routing)


def create_app(make_balancer: Callable[[], Balancer], *, deadline: float = 2.0) -> web.Application:
    """The gateway app; the balancer is built on startup, inside the serving event loop."""
    app = web.Application()
    app[DEADLINE_KEY] = deadline

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        balancer = app[BALANCER_KEY] = make_balancer()
        await balancer.start()
        yield
        await balancer.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/greet", greet_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def parse_args(argv: list[str] | None = None, env: Mapping[str, str] = os.environ) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m greet.gateway", description="REST gateway for greet.v1.")
    parser.add_argument("--listen", default=env.get("GATEWAY_LISTEN", "0.0.0.0:9091"))
    parser.add_argument("--balancing", choices=MODES, default=env.get("GRPC_BALANCING", "pick_first"))
    parser.add_argument(
        "--server-host",
        default=env.get("GRPC_SERVER_HOST", "greetserver"),
        help="Service address (pick_first) or DNS name (round_robin)",
    )
    parser.add_argument("--server-port", type=int, default=int(env.get("GRPC_SERVER_PORT", "50051")))
    parser.add_argument(
        "--dns-server", default=env.get("DNS_SERVER", ""), help="host:port DNS server for the Service name"
    )
    parser.add_argument(
        "--dns-min-resolution-ms",
        type=int,
        default=int(env.get("GRPC_DNS_MIN_RESOLUTION_MS", "30000")),
        help="grpc.dns_min_time_between_resolutions_ms",
    )
    parser.add_argument("--lookaside", default=env.get("LOOKASIDE_ADDR", "lookaside-svc:50055"))
    parser.add_argument(
        "--lookaside-variant", choices=("resolve", "watch"), default=env.get("LOOKASIDE_VARIANT", "watch")
    )
    parser.add_argument(
        "--routing", choices=tuple(ROUTING_VALUES), default=env.get("LOOKASIDE_ROUTING", "ROUND_ROBIN")
    )
    parser.add_argument("--service", default=env.get("GRPC_SVC", "greetserver"))
    parser.add_argument("--namespace", default=env.get("POD_NAMESPACE", "default"))
    parser.add_argument(
        "--deadline", type=float, default=float(env.get("GRPC_DEADLINE_S", "2.0")), metavar="S"
    )
    parser.add_argument("--log-level", default=env.get("LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging(args.log_level)
    host, port = split_hostport(args.listen)
    log.info(
        "serving",
        extra={
            "fields": {"listen": args.listen, "balancing": args.balancing, "variant": args.lookaside_variant}
        },
    )
    web.run_app(
        create_app(lambda: build_balancer(args), deadline=args.deadline),
        host=host,
        port=port,
        print=None,
        access_log=None,
        handle_signals=True,
    )


if __name__ == "__main__":
    main()
