"""Benchmark the quotas page: server time with 100 namespaces x 2 ResourceQuotas, and live bar updates.

    .venv/bin/python bench/quotas_page.py [--quick]

Starts a private sandbox and a daphne (temporary state dir and SQLite file, free loopback ports), creates
100 namespaces with a compute and an object quota each, then measures
  * quota_page_ms: GET /quotas/ (all namespaces) served by Django in this process, from a warm watch hub
    (rows and their HTML are memoized per namespace until a quota changes); quota_page_cold_ms: the
    same with every memo cleared first, as if every namespace had changed since the last request;
  * bar_update: a websocket client connected to /ws/quotas/ for one namespace; a pod with requests is
    created (admitted: the create call returned) and the clock stops when a pushed partial shows that
    namespace's requests.cpu bar at its new value (quota status controller → watch → hub → render → socket).
The pods are bound to a node nobody runs, so no process starts: the bench measures the control path.
The last line is JSON: namespaces, quota_page_ms, bar_update_p95_ms. Targets: page ≤ 200 ms, p95 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_sandbox(state_dir: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "up", "--state-dir", str(state_dir), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if json.loads((state_dir / "sandbox.json").read_text()).get("pid") == proc.pid:
                return proc
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            raise SystemExit(f"sandbox exited with {proc.returncode}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("sandbox did not start in 30 s")


def start_daphne(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("daphne did not start in 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def quotas_create(core: Any, namespaces: list[str]) -> None:
    for ns in namespaces:
        core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        core.create_namespaced_resource_quota(
            ns,
            {
                "metadata": {"name": "compute"},
                "spec": {
                    "hard": {
                        "requests.cpu": "100",
                        "requests.memory": "64Gi",
                        "limits.cpu": "200",
                        "pods": "500",
                    }
                },
            },
        )
        core.create_namespaced_resource_quota(
            ns, {"metadata": {"name": "objects"}, "spec": {"hard": {"configmaps": "10", "services": "10"}}}
        )


def pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "nodeName": "bench-unscheduled",  # nobody runs it: no process, only admission and quota
            "containers": [
                {
                    "name": "main",
                    "image": "nginx",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "20m"}},
                }
            ],
        },
    }


async def bar_updates(
    core: Any, base_ws: str, cluster: str, namespace: str, cookie: str, trials: int
) -> list[float]:
    import aiohttp

    url = f"{base_ws}/ws/quotas/?cluster={cluster}&namespace={namespace}"
    headers = {"Origin": "http://127.0.0.1", "Cookie": cookie}
    samples: list[float] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url, headers=headers) as ws:
        await asyncio.wait_for(ws.receive(), 10)  # the first render on connect
        for i in range(trials):
            want = f'data-resource="requests.cpu" data-used="{(i + 1) * 10}m"'
            await asyncio.to_thread(core.create_namespaced_pod, namespace, pod(f"p-{i:03d}"))
            admitted = time.perf_counter()
            while True:
                msg = await asyncio.wait_for(ws.receive(), 10)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise SystemExit(f"websocket closed: {msg}")
                if want in msg.data:
                    samples.append(time.perf_counter() - admitted)
                    break
            await asyncio.sleep(0.2)  # let the coalescing window close between trials
    return samples


def profile_page(web: Any, cluster: str) -> None:
    """Where a page request's time goes (cumulative, then own time), for the curious."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        web.get("/quotas/", {"cluster": cluster})
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (≤ 60 s)")
    parser.add_argument(
        "--profile", action="store_true", help="also print cProfile's top functions for 5 page requests"
    )
    args = parser.parse_args()
    n_namespaces, page_runs, trials = (100, 15, 15) if args.quick else (100, 50, 40)

    with tempfile.TemporaryDirectory(prefix="quotas-bench-") as tmp:
        state = Path(tmp)
        sandbox = start_sandbox(state / "sandbox")
        daphne: subprocess.Popen[bytes] | None = None
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-not-secret"),
            "SWITCHYARD_SQLITE_PATH": str(state / "db.sqlite3"),
            "SWITCHYARD_KUBECONFIG": str(state / "sandbox" / "kubeconfig"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        }
        os.environ.update(env)
        try:
            import django

            django.setup()
            from django.contrib.auth import get_user_model
            from django.core.management import call_command
            from django.test import Client
            from kubernetes import client, config

            from dashboard.hub import get_hub, reset_hub

            call_command("migrate", verbosity=0)
            user = get_user_model().objects.create_user("bench", password="bench-password-long-enough")
            api: Any = config.new_client_from_config(config_file=env["SWITCHYARD_KUBECONFIG"])  # type: ignore[no-untyped-call]
            core: Any = client.CoreV1Api(api)
            namespaces = [f"team-{i:03d}" for i in range(n_namespaces)]
            t0 = time.perf_counter()
            quotas_create(core, namespaces)
            print(f"created {n_namespaces} namespaces x 2 quotas in {time.perf_counter() - t0:.1f} s")

            web = Client()
            web.force_login(user)
            cluster = next(iter(get_hub().clusters))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # warm: every quota listed with its status
                html = web.get("/quotas/", {"cluster": cluster}).content.decode()
                if html.count('data-resource="requests.cpu" data-used="0"') >= n_namespaces:
                    break
                time.sleep(0.2)
            else:
                raise SystemExit("the quotas page never showed every namespace's bars")
            page_ms = []
            for _ in range(page_runs):
                t = time.perf_counter()
                response = web.get("/quotas/", {"cluster": cluster})
                page_ms.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200
            # Cold: every memo forgotten first, as after a change in every namespace at once.
            from quotas.partials import fragments_clear
            from quotas.selectors import memo_clear

            cold_ms = []
            for _ in range(max(3, page_runs // 3)):
                memo_clear()
                fragments_clear()
                t = time.perf_counter()
                response = web.get("/quotas/", {"cluster": cluster})
                cold_ms.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200
            print(f"quota page with every memo cleared (cold): p50 {statistics.median(cold_ms):.1f} ms")
            if args.profile:
                profile_page(web, cluster)
            print(
                f"quota page (all {n_namespaces} namespaces): p50 {statistics.median(page_ms):.1f} ms, "
                f"p95 {percentile(page_ms, 95):.1f} ms ({len(response.content) // 1024} KiB)"
            )
            reset_hub()  # this process is done reading; daphne has its own hub

            port = free_port()
            daphne = start_daphne(env, port, state / "daphne.log")
            cookie = f"sessionid={web.cookies['sessionid'].value}"
            samples = asyncio.run(
                bar_updates(core, f"ws://127.0.0.1:{port}", cluster, namespaces[0], cookie, trials)
            )
            update_ms = [s * 1000 for s in samples]
            print(
                f"bar update after a pod is admitted: p50 {statistics.median(update_ms):.0f} ms, "
                f"p95 {percentile(update_ms, 95):.0f} ms, max {max(update_ms):.0f} ms (n={len(update_ms)})"
            )
            api.close()
            result = {
                "namespaces": n_namespaces,
                "quota_page_ms": round(statistics.median(page_ms), 1),
                "quota_page_p95_ms": round(percentile(page_ms, 95), 1),
                "quota_page_cold_ms": round(statistics.median(cold_ms), 1),
                "bar_update_p50_ms": round(statistics.median(update_ms), 1),
                "bar_update_p95_ms": round(percentile(update_ms, 95), 1),
            }
        finally:
            if daphne is not None:
                stop(daphne)
            stop(sandbox)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
