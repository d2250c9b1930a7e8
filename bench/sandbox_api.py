"""Benchmark the sandbox API server through the official `kubernetes` client.

    .venv/bin/python bench/sandbox_api.py [--quick]

Starts a private sandbox (temporary state dir, free loopback port), fills a namespace with 1,000 pods
and prints p50/p99 latencies (milliseconds) for create, get, list of all 1,000, strategic-merge patch,
and watch delivery: the time from a write returning to its event arriving at each of 50 concurrent
watchers (official client `watch.Watch` streams, one thread each, on a ConfigMap so that client-side
model decoding of 50 streams does not dominate). Lists are read with `_preload_content=False` and
`json.loads`, because building 1,000 `V1Pod` models is the client's cost, not the server's.

Anchors: Kubernetes' SLO is p99 <= 1 s for single-object mutating calls and namespace-scoped lists.
Targets here: create/patch p99 <= 15 ms, list of 1,000 p50 <= 80 ms, watch delivery p99 <= 25 ms.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

REPO = Path(__file__).resolve().parents[1]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    out = {"p50": round(percentile(ms, 50), 2), "p99": round(percentile(ms, 99), 2), "n": len(ms)}
    print(
        f"{name:>16}: p50 {out['p50']:7.2f} ms   p99 {out['p99']:7.2f} ms   (n={len(ms)}, mean {statistics.fmean(ms):.2f})"
    )
    return out


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
            info = json.loads((state_dir / "sandbox.json").read_text())
            if info.get("pid") == proc.pid:
                return proc
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            raise SystemExit(f"sandbox exited with {proc.returncode}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("sandbox did not start in 30 s")


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "shard": str(hash(name) % 10)}},
        # Bound to a node nobody runs: the bench measures the API server, not 1,000 local processes.
        "spec": {
            "nodeName": "bench-unscheduled",
            "containers": [
                {
                    "name": "main",
                    "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
    }


def run(quick: bool) -> dict[str, Any]:
    n_pods = 1000
    n_get, n_list, n_patch, n_watch_writes, n_watchers = (
        (300, 10, 300, 30, 50) if quick else (1000, 30, 1000, 100, 50)
    )
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        state_dir = Path(tmp)
        proc = start_sandbox(state_dir)
        try:
            # The client's models are loosely typed; the bench uses them through Any.
            api: Any = config.new_client_from_config(config_file=str(state_dir / "kubeconfig"))  # type: ignore[no-untyped-call]
            core: Any = client.CoreV1Api(api)
            ns = "bench"
            core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            names = [f"pod-{i:04d}" for i in range(n_pods)]

            create = []
            for name in names:
                t0 = time.perf_counter()
                core.create_namespaced_pod(ns, pod(name), _preload_content=False).read()
                create.append(time.perf_counter() - t0)

            get = []
            for _ in range(n_get):
                t0 = time.perf_counter()
                core.read_namespaced_pod(random.choice(names), ns)
                get.append(time.perf_counter() - t0)

            lists = []
            for _ in range(n_list):
                t0 = time.perf_counter()
                body = core.list_namespaced_pod(ns, _preload_content=False).read()
                items = json.loads(body)["items"]
                lists.append(time.perf_counter() - t0)
                assert len(items) == n_pods, len(items)

            patch = []
            for i in range(n_patch):
                t0 = time.perf_counter()
                core.patch_namespaced_pod(
                    random.choice(names),
                    ns,
                    {"metadata": {"labels": {"round": str(i)}}},
                    _preload_content=False,
                ).read()
                patch.append(time.perf_counter() - t0)

            delivery = watch_delivery(core, ns, n_watchers, n_watch_writes)
        finally:
            proc.terminate()
            proc.wait(30)
    print()
    results = {
        "create": summary("create", create),
        "get": summary("get", get),
        "list1000": summary("list (1000)", lists),
        "patch": summary("patch (SMP)", patch),
        "watch": summary(f"watch x{n_watchers}", delivery),
    }
    return {
        "get_p99_ms": results["get"]["p99"],
        "list1000_p50_ms": results["list1000"]["p50"],
        "create_p99_ms": results["create"]["p99"],
        "patch_p99_ms": results["patch"]["p99"],
        "watch_delivery_p99_ms": results["watch"]["p99"],
        "watchers": n_watchers,
        "create_p50_ms": results["create"]["p50"],
        "get_p50_ms": results["get"]["p50"],
        "patch_p50_ms": results["patch"]["p50"],
        "watch_delivery_p50_ms": results["watch"]["p50"],
        "quick": quick,
    }


def watch_delivery(core: Any, ns: str, n_watchers: int, n_writes: int) -> list[float]:
    """Each watcher records when it saw each resourceVersion; delivery = seen - write returned."""
    made = core.create_namespaced_config_map(
        ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}, "data": {"n": "0"}}
    )
    start_rv = made.metadata.resource_version
    arrivals: list[dict[str, float]] = [{} for _ in range(n_watchers)]
    ready = threading.Barrier(n_watchers + 1)
    stops: list[Any] = []

    def watcher(i: int) -> None:
        w: Any = watch.Watch()  # type: ignore[no-untyped-call]
        stops.append(w)
        ready.wait()
        for event in w.stream(
            core.list_namespaced_config_map,
            ns,
            field_selector="metadata.name=probe",
            resource_version=start_rv,
            timeout_seconds=60,
        ):
            arrivals[i][event["object"].metadata.resource_version] = time.perf_counter()
            if len(arrivals[i]) >= n_writes:
                w.stop()

    threads = [threading.Thread(target=watcher, args=(i,), daemon=True) for i in range(n_watchers)]
    for t in threads:
        t.start()
    ready.wait()
    time.sleep(1.0)  # let every stream connect
    returned: dict[str, float] = {}
    for i in range(n_writes):
        obj = core.patch_namespaced_config_map("probe", ns, {"data": {"n": str(i + 1)}})
        returned[obj.metadata.resource_version] = time.perf_counter()
        time.sleep(0.05)
    deadline = time.monotonic() + 20
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    for w in stops:
        w.stop()
    samples = []
    missing = 0
    for seen in arrivals:
        for rv, t_ret in returned.items():
            if rv in seen:
                samples.append(max(0.0, seen[rv] - t_ret))
            else:
                missing += 1
    if missing:
        print(f"watch: {missing} events never arrived", file=sys.stderr)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="fewer samples; finishes in well under 60 s")
    args = parser.parse_args()
    started = time.monotonic()
    result = run(args.quick)
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
