"""Benchmark the live dashboard: traffic frames to 50 websocket clients, the overview with 500 pods, idle lists.

    .venv/bin/python bench/dashboard_live.py [--quick]

Starts a private sandbox (its own pod/Service ranges) running deploy/greet, a test database, one operator
and daphne serving Switchyard, all on loopback, and stops them all at the end. Then:

1. **Traffic frames**: an operator starts a round_robin probe at 200 req/s; 50 websocket clients watch it.
   Every frame says when its probe last closed a bucket (the probe thread's wall clock at the close);
   the lag of a client is the time from that close to the first frame carrying it arriving at the client
   (both clocks are this machine's). Also reported: frames per second per client (the page wants >= 4).
2. **Overview with 500 pods**: 500 pods in one namespace, bound to a node nobody runs (no processes
   start, as in bench/sandbox_api.py); once the hub's cache holds them all, the page
   `/?namespace=…` is fetched 20 times; the median response time on loopback is the server time.
3. **Idle list calls**: with no page open and nothing changing, the hub's `switchyard_watch_list_calls`
   counters from /metrics, before and after an idle window, per minute.

Targets: lag p95 <= 250 ms, overview <= 150 ms, idle list calls 0. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

import aiohttp
from kubernetes import client, config
from yarl import URL

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.demo import Sandbox, sandbox_down, sandbox_up  # noqa: E402

WS_CLIENTS = 50
PROBE_RATE = 200
OVERVIEW_PODS = 500
OVERVIEW_NAMESPACE = "bench-overview"
PASSWORD = "bench-signal-box-42"
# Ranges no test suite uses, so greet pods never collide with another sandbox's on this machine.
EXTRA_ARGS = ("--port", "0", "--pod-cidr", "127.69.0.0/16", "--service-cidr", "127.70.0.0/16")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait(what: str, check: Any, timeout: float, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def greet_ready(sandbox: Sandbox) -> bool:
    pods = json.loads(sandbox.kubectl("get", "pods", "-n", "default", "-l", "run=greetserver", "-o", "json"))
    ready = [
        p
        for p in pods["items"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
    ]
    return len(ready) == 3


def django_env(sandbox: Sandbox, db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SECRET_KEY": "bench-only-insecure-key",
        "SWITCHYARD_SQLITE_PATH": str(db),
        "SWITCHYARD_KUBECONFIG": str(sandbox.kubeconfig),
        "SWITCHYARD_DNS_SERVER": sandbox.dns,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def start_daphne(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
    subprocess.run(
        [*manage, "adduser", "bench", "--role", "operator", "--password", PASSWORD],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )

    def up() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait("daphne", up, 30, 0.05)
    return proc


async def sign_in(session: aiohttp.ClientSession, base: str) -> str:
    async with session.get(f"{base}/accounts/login/") as response:
        text = await response.text()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    assert token, "no CSRF token on the login page"
    data = {"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    async with session.post(f"{base}/accounts/login/", data=data, headers={"Referer": base}) as response:
        assert response.status == 200 and "Sign out" in await response.text(), "sign-in failed"
    return session.cookie_jar.filter_cookies(URL(base))["csrftoken"].value


async def start_probe(session: aiohttp.ClientSession, base: str, csrf: str) -> str:
    form = {
        "kind": "grpc",
        "balancing": "round_robin",
        "address": "greetserver-headless.default.svc.cluster.local:50051",
        "dns_server": "",  # filled below from the page's default (the sandbox's DNS)
        "rate": str(PROBE_RATE),
    }
    async with session.get(f"{base}/traffic/") as response:
        page = await response.text()
    dns = re.search(r'name="dns_server" value="([^"]*)"', page)
    form["dns_server"] = dns.group(1) if dns else ""
    async with session.post(
        f"{base}/traffic/probes/start",
        data=form,
        headers={"X-CSRFToken": csrf, "Referer": base, "HX-Request": "true"},
    ) as response:
        body = await response.text()
        location = response.headers.get("HX-Redirect", "")
    key = re.search(r"probe=([^&]+)", location)
    assert key, f"the probe did not start: {body}"
    return unquote_plus(key.group(1))


async def ws_clients(
    base: str, cookies: dict[str, str], key: str, seconds: float
) -> tuple[list[float], list[float]]:
    """Lags (s) from bucket close to arrival, over all clients; frames per second of each client."""
    url = base.replace("http://", "ws://") + "/ws/traffic/?" + urlencode({"probe": key})
    headers = {"Origin": base, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    lags: list[float] = []
    server_parts: list[float] = []  # of each lag: from the close to the frame leaving the broadcaster
    rates: list[float] = []
    stop_at = time.monotonic() + seconds

    async def one(session: aiohttp.ClientSession) -> None:
        seen: set[float] = set()
        frames = 0
        async with session.ws_connect(url, headers=headers, max_msg_size=0) as ws:
            started = time.monotonic()
            while (left := stop_at - time.monotonic()) > 0:
                try:
                    message = await ws.receive(timeout=left)
                except TimeoutError:
                    break
                arrived = time.time()
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frames += 1
                frame = json.loads(message.data)
                closed = frame.get("closed")
                if closed and closed["start"] not in seen:
                    seen.add(closed["start"])
                    if len(seen) > 1:  # the first one may have closed before this client connected
                        lags.append(arrived - closed["at"])
                        server_parts.append(frame["sent_at"] - closed["at"])
            rates.append(frames / max(1e-9, time.monotonic() - started))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session) for _ in range(WS_CLIENTS)))
    server_ms = [x * 1000 for x in server_parts]
    print(
        f"ws: of the lag, close -> frame built: p50 {percentile(server_ms, 50):.1f} ms, p95 {percentile(server_ms, 95):.1f} ms"
    )
    return lags, rates


def create_pods(sandbox: Sandbox) -> None:
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))  # type: ignore[no-untyped-call]
    core: Any = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": OVERVIEW_NAMESPACE}})

    def make(i: int) -> None:
        core.create_namespaced_pod(
            OVERVIEW_NAMESPACE,
            {
                "metadata": {"name": f"bench-{i:04d}", "labels": {"app": "bench", "version": f"v{i % 3}"}},
                # Bound to a node nobody runs: API objects only, no local processes.
                "spec": {
                    "nodeName": "bench-unscheduled",
                    "containers": [{"name": "main", "image": "switchyard/greet:0.1"}],
                },
            },
            _preload_content=False,
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(OVERVIEW_PODS)))
    api.close()


async def overview_times(session: aiohttp.ClientSession, base: str, n: int) -> list[float]:
    url = f"{base}/?namespace={OVERVIEW_NAMESPACE}"
    deadline = time.monotonic() + 30
    while True:  # the hub's cache fills from its watch; measure only once it holds every pod
        async with session.get(url) as response:
            page = await response.text()
        if f"Pods <small>({OVERVIEW_PODS})" in page:
            break
        if time.monotonic() > deadline:
            raise SystemExit("the overview never showed 500 pods")
        await asyncio.sleep(0.25)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            assert response.status == 200
        times.append(time.perf_counter() - started)
    return times


async def list_calls(session: aiohttp.ClientSession, base: str) -> float:
    async with session.get(f"{base}/metrics") as response:
        text = await response.text()
    return sum(
        float(v) for v in re.findall(r"^switchyard_watch_list_calls_total\{[^}]*\} (\S+)$", text, re.M)
    )


async def measure(base: str, sandbox: Sandbox, quick: bool) -> dict[str, Any]:
    # unsafe=True: aiohttp keeps no cookies from IP-address hosts otherwise.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await sign_in(session, base)
        cookies = {c.key: c.value for c in session.cookie_jar}
        key = await start_probe(session, base, csrf)
        print(f"probe: {key} at {PROBE_RATE} req/s")
        await asyncio.sleep(1.5)  # a first closed second
        ws_seconds = 10.0 if quick else 30.0
        lags, rates = await ws_clients(base, cookies, key, ws_seconds)
        lag_ms = [x * 1000 for x in lags]
        print(
            f"ws: {WS_CLIENTS} clients for {ws_seconds:.0f}s, {len(lags)} bucket closes seen: lag p50 "
            f"{percentile(lag_ms, 50):.1f} ms, p95 {percentile(lag_ms, 95):.1f} ms, max {max(lag_ms):.1f} ms; "
            f"frames/s per client min {min(rates):.2f}, median {statistics.median(rates):.2f}"
        )
        async with session.post(
            f"{base}/traffic/probes/stop", data={"key": key}, headers={"X-CSRFToken": csrf, "Referer": base}
        ) as response:
            assert response.status in (200, 302), response.status

        started = time.monotonic()
        await asyncio.to_thread(create_pods, sandbox)
        print(f"created {OVERVIEW_PODS} pods in {time.monotonic() - started:.1f}s")
        times = [t * 1000 for t in await overview_times(session, base, 20)]
        print(
            f"overview with {OVERVIEW_PODS} pods: median {statistics.median(times):.1f} ms, "
            f"p95 {percentile(times, 95):.1f} ms (n={len(times)})"
        )

        idle = 10.0 if quick else 30.0
        await asyncio.sleep(2.0)  # let the last page's informers settle
        before = await list_calls(session, base)
        await asyncio.sleep(idle)
        after = await list_calls(session, base)
        per_min = (after - before) / idle * 60
        print(f"idle {idle:.0f}s: list calls {before:.0f} -> {after:.0f} ({per_min:.1f}/min)")
    return {
        "ws_clients": WS_CLIENTS,
        "ws_lag_p95_ms": round(percentile(lag_ms, 95), 1),
        "ws_lag_p50_ms": round(percentile(lag_ms, 50), 1),
        "ws_frames_per_s_min": round(min(rates), 2),
        "overview_500_pods_ms": round(statistics.median(times), 1),
        "idle_list_calls_per_min": round(per_min, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="shorter windows (under 60 s in all)")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="switchyard-bench-") as tmp:
        state = Path(tmp)
        sandbox = sandbox_up(state / "sandbox", extra_args=EXTRA_ARGS)
        daphne: subprocess.Popen[bytes] | None = None
        try:
            sandbox.kubectl("apply", "-f", str(REPO / "deploy" / "greet" / "greetserver.yaml"))
            wait("3 Ready greet servers", lambda: greet_ready(sandbox), 60, 0.5)
            port = free_port()
            daphne = start_daphne(django_env(sandbox, state / "db.sqlite3"), port, state / "daphne.log")
            result = asyncio.run(measure(f"http://127.0.0.1:{port}", sandbox, args.quick))
        finally:
            if daphne is not None:
                daphne.terminate()
                try:
                    daphne.wait(10)
                except subprocess.TimeoutExpired:
                    daphne.kill()
                    daphne.wait(5)
            sandbox_down(sandbox)
    result["elapsed_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
