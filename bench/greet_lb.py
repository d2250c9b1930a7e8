"""Throughput and spread of the gateway's balancing modes, measured with grpc.aio at concurrency 32.

Starts three greet servers (127.0.0.2-4), the lookaside balancer (static source) and a DNS server
(dnslib, in a thread) answering three A records, then, for a fixed number of unary Greet calls per
mode, prints req/s, p50, p99 and per-pod counts. A direct single-server channel is the baseline.
The last line is one JSON object.

    python -m bench.greet_lb [--quick]      # --quick stays well under 60 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver

from greet.balancing import (
    Balancer,
    ChannelBalancer,
    LookasideResolve,
    LookasideWatch,
    dns_target,
    greet_call,
    pick_first,
    round_robin,
)
from greet.gen.greet.v1 import greet_pb2

ROOT = Path(__file__).resolve().parent.parent
SERVER_IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
NAME = "greetserver.default.svc.cluster.local"
CONCURRENCY = 32
WALL_LIMIT_S = 55.0  # --quick must finish within 60 s even on a busy machine


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def common_free_port() -> int:
    for _ in range(50):
        port = free_port(SERVER_IPS[0])
        try:
            for host in SERVER_IPS[1:]:
                with socket.socket() as sock:
                    sock.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


def wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {host}:{port} exited with {proc.returncode}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


@dataclass
class ModeResult:
    mode: str
    calls: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    pods: Counter[str]

    @property
    def rps(self) -> float:
        return self.calls / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def max_over_min(self) -> float:
        counts = [self.pods.get(ip, 0) for ip in SERVER_IPS]
        return max(counts) / min(counts) if min(counts) else float("inf")

    def line(self) -> str:
        pods = " ".join(f"{pod}={n}" for pod, n in sorted(self.pods.items()))
        return (
            f"{self.mode:18s} {self.rps:8.0f} req/s  p50 {self.quantile(0.5):6.2f} ms  "
            f"p99 {self.quantile(0.99):6.2f} ms  errors {self.errors}  pods: {pods}"
        )


REQUEST = greet_pb2.GreetRequest(greeting=greet_pb2.Greeting(first_name="Hitesh", last_name="Pattanayak"))


async def measure(result: ModeResult, balancer: Balancer, calls: int) -> None:
    """Make ``calls`` Greet calls at CONCURRENCY and add them to ``result``."""
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                response = await greet_call(balancer, REQUEST, timeout=5)
            except Exception:
                result.errors += 1
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.pods[response.pod.ip] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    result.seconds += time.perf_counter() - started
    result.calls += calls


async def run_modes(
    port: int, dns_server: str, lookaside: str, calls: int, rounds: int
) -> dict[str, ModeResult]:
    factories: dict[str, Callable[[], Balancer]] = {
        "baseline": lambda: ChannelBalancer(f"{SERVER_IPS[0]}:{port}", "pick_first"),
        "round_robin": lambda: round_robin(NAME, port, dns_server=dns_server),
        "lookaside_watch": lambda: LookasideWatch(lookaside, "greetserver", "default"),
        "lookaside_resolve": lambda: LookasideResolve(lookaside, "greetserver", "default"),
        "pick_first": lambda: pick_first(dns_target(NAME, port, dns_server)),
    }
    balancers = {mode: factory() for mode, factory in factories.items()}
    results = {mode: ModeResult(mode, 0, 0, 0.0, [], Counter()) for mode in balancers}
    for balancer in balancers.values():
        await balancer.start()
        # Warm-up: connect every subchannel / backend channel before the clock starts.
        for _ in range(300):
            await greet_call(balancer, REQUEST, timeout=5)
    # The machine is shared: interleave the modes over several rounds (rotating the order) so a
    # burst of someone else's load does not land on one mode only.
    order = list(balancers)
    per_round = [calls // rounds + (1 if i < calls % rounds else 0) for i in range(rounds)]
    for round_index, round_calls in enumerate(per_round):
        rotated = order[round_index % len(order) :] + order[: round_index % len(order)]
        for mode in rotated:
            await measure(results[mode], balancers[mode], round_calls)
    for balancer in balancers.values():
        await balancer.close()
    for result in results.values():
        print(result.line(), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls; bounded to under 60 s")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds over all modes")
    parser.add_argument("--calls", type=int, default=None, help="calls per mode (default 30000, quick 6000)")
    args = parser.parse_args(argv)
    calls = args.calls or (6000 if args.quick else 30000)
    started = time.monotonic()

    port = common_free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="greet-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    dns = None
    try:
        for index, ip in enumerate(SERVER_IPS, start=1):
            with (log_dir / f"server-{index}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "greet.server", "--listen", f"{ip}:{port}"],
                        cwd=ROOT,
                        env={**os.environ, "POD_NAME": f"greetserver-{index}", "POD_IP": ip},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        lookaside_port = free_port("127.0.0.1")
        backends = ",".join(f"{ip}:{port}" for ip in SERVER_IPS)
        with (log_dir / "lookaside.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "greet.lookaside", "--listen", f"127.0.0.1:{lookaside_port}"),
                        *("--source", "static", "--backends", backends),
                    ],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        zone = "\n".join(f"{NAME}. 5 IN A {ip}" for ip in SERVER_IPS)
        dns_port = free_port("127.0.0.1")
        quiet = DNSLogger(logf=lambda _line: None)
        dns = DNSServer(ZoneResolver(zone), address="127.0.0.1", port=dns_port, logger=quiet)
        dns.start_thread()
        for ip, proc in zip(SERVER_IPS, procs, strict=False):
            wait_listening(ip, port, proc)
        wait_listening("127.0.0.1", lookaside_port, procs[-1])

        print(
            f"{calls} unary Greet calls per mode in {args.rounds} interleaved rounds, concurrency {CONCURRENCY}; "
            f"server logs in {log_dir}",
            flush=True,
        )
        results = asyncio.run(
            asyncio.wait_for(
                run_modes(port, f"127.0.0.1:{dns_port}", f"127.0.0.1:{lookaside_port}", calls, args.rounds),
                timeout=max(5.0, WALL_LIMIT_S - (time.monotonic() - started)) if args.quick else None,
            )
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if dns is not None:
            dns.stop()

    baseline = results["baseline"].rps
    summary = {
        "calls_per_mode": calls,
        "concurrency": CONCURRENCY,
        "rounds": args.rounds,
        "baseline_rps": round(baseline),
        "round_robin_rps": round(results["round_robin"].rps),
        "lookaside_watch_rps": round(results["lookaside_watch"].rps),
        "lookaside_resolve_rps": round(results["lookaside_resolve"].rps),
        "pick_first_rps": round(results["pick_first"].rps),
        "round_robin_over_baseline": round(results["round_robin"].rps / baseline, 3),
        "lookaside_watch_over_round_robin": round(
            results["lookaside_watch"].rps / results["round_robin"].rps, 3
        ),
        "round_robin_max_over_min": round(results["round_robin"].max_over_min, 4),
        "lookaside_watch_max_over_min": round(results["lookaside_watch"].max_over_min, 4),
        "lookaside_resolve_max_over_min": round(results["lookaside_resolve"].max_over_min, 4),
        "pick_first_pods_hit": len(results["pick_first"].pods),
        "errors": sum(r.errors for r in results.values()),
        "p99_ms": {mode: round(r.quantile(0.99), 2) for mode, r in results.items()},
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
