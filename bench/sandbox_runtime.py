"""Sandbox runtime figures (issue 4): pod start-up latency and Service switch-over time per balancing mode.

    .venv/bin/python bench/sandbox_runtime.py [--quick]

1. Pod start-up: a Deployment of 30 generic pods (the built-in web server) is created; a pod watch
   started before the create records, per pod, when it was first seen (ADDED) and when its Ready
   condition first turned True. p50/p99 of ready - seen (the SLO's "created → observed Ready"), and the
   time from the Deployment's create call to the last pod Ready. "seen" is itself delayed while the
   sandbox is busy (watch events are written by the same event loop), so ready - seen can understate;
   `from_deployment_create_p50_ms`/`_p99_ms` (create call → each pod Ready) are the upper bound.
2. Switch-over: two greet server Deployments (version v1, v2) behind one Service per balancing mode;
   one gateway per mode under steady traffic (one request in flight, keep-alive). At t0 the Service's
   selector is patched from v1 to v2; the switch time is the first t after which ≥ 99 % of the answers
   (counted until the end of the observation bound) come from v2 pods, provided the last second is all
   v2-dominated as well. A mode that never gets there reports the bound and `switched: false`.

Modes: pick_first (ClusterIP: a sticky connection through the kube-proxy-like proxy), round_robin
(headless, grpc's default 30 s re-resolution), round_robin_fast (1 s minimum re-resolution and servers
with a 1 s max connection age, so the channel re-resolves), lookaside_watch (KubernetesSource watching
EndpointSlices, pushed to the gateway).

Everything runs on loopback in a private sandbox (its own state dir and address ranges) that is torn
down at the end. The last line is JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.demo import Sandbox, sandbox_down, sandbox_up  # noqa: E402

NS = "bench"
POD_CIDR = "127.65.0.0/16"
SERVICE_CIDR = "127.66.0.0/16"
STARTUP_PODS = 30
SWITCH_SHARE = 0.99
BIN_S = 0.1


# -- API access -------------------------------------------------------------------------------------


@dataclass
class Api:
    """Raw HTTPS to the sandbox API server with its bearer token (no client library in the timing)."""

    sandbox: Sandbox
    token: str = ""
    context: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    @classmethod
    def of(cls, sandbox: Sandbox) -> Api:
        context = ssl.create_default_context(cafile=str(sandbox.state_dir / "pki" / "ca.crt"))
        return cls(sandbox, (sandbox.state_dir / "token").read_text().strip(), context)

    def connection(self, timeout: float = 30.0) -> http.client.HTTPSConnection:
        url = urllib.parse.urlsplit(self.sandbox.url)
        return http.client.HTTPSConnection(
            url.hostname or "", url.port, context=self.context, timeout=timeout
        )

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        conn = self.connection()
        try:
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
            return json.loads(data)
        finally:
            conn.close()


class PodWatch(threading.Thread):
    """Follows pods matching a selector; records monotonic times of first sight and first Ready."""

    def __init__(
        self, api: Api, namespace: str, selector: str, resource_version: str, timeout_s: int
    ) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace, self.selector = api, namespace, selector
        self.resource_version, self.timeout_s = resource_version, timeout_s
        self.seen: dict[str, float] = {}
        self.scheduled: dict[str, float] = {}  # spec.nodeName set (scheduler)
        self.started: dict[str, float] = {}  # a container reported running (kubelet spawned it)
        self.ready: dict[str, float] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.watching = threading.Event()

    def run(self) -> None:
        query = urllib.parse.urlencode(
            {
                "watch": "true",
                "labelSelector": self.selector,
                "resourceVersion": self.resource_version,
                "timeoutSeconds": str(self.timeout_s),
            }
        )
        conn = self.api.connection(timeout=self.timeout_s + 5)
        try:
            conn.request(
                "GET",
                f"/api/v1/namespaces/{self.namespace}/pods?{query}",
                headers={"Authorization": f"Bearer {self.api.token}"},
            )
            response = conn.getresponse()
            self.watching.set()
            for line in response:
                now = time.monotonic()
                if not line.strip():
                    continue
                event = json.loads(line)
                pod = event.get("object") or {}
                name = (pod.get("metadata") or {}).get("name")
                if not name or event.get("type") not in ("ADDED", "MODIFIED"):
                    continue
                self.seen.setdefault(name, now)
                self.objects[name] = pod
                if name not in self.scheduled and (pod.get("spec") or {}).get("nodeName"):
                    self.scheduled[name] = now
                statuses = (pod.get("status") or {}).get("containerStatuses") or []
                if name not in self.started and any("running" in (c.get("state") or {}) for c in statuses):
                    self.started[name] = now
                if name not in self.ready and _ready(pod):
                    self.ready[name] = now
        except (OSError, http.client.HTTPException):
            pass
        finally:
            self.watching.set()
            conn.close()


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# -- 1. pod start-up -----------------------------------------------------------------------------------


def startup_deployment(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "startup", "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "startup"}},
            "template": {
                "metadata": {"labels": {"app": "startup"}},
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]
                },
            },
        },
    }


def bench_startup(api: Api, replicas: int, bound_s: float) -> dict[str, Any]:
    rv = api.call("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dstartup")["metadata"][
        "resourceVersion"
    ]
    watch = PodWatch(api, NS, "app=startup", rv, int(bound_s) + 5)
    watch.start()
    watch.watching.wait(10)
    t0 = time.monotonic()
    api.call("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", startup_deployment(replicas))
    deadline = t0 + bound_s
    while len(watch.ready) < replicas and time.monotonic() < deadline:
        time.sleep(0.05)
    latencies = [(watch.ready[n] - watch.seen[n]) * 1000 for n in watch.ready]
    since_create = [(t - t0) * 1000 for t in watch.ready.values()]

    def stage(later: dict[str, float], earlier: dict[str, float]) -> dict[str, float] | None:
        gaps = [(later[n] - earlier[n]) * 1000 for n in later if n in earlier]
        if not gaps:
            return None
        return {"p50_ms": round(statistics.median(gaps), 1), "p99_ms": round(percentile(gaps, 0.99), 1)}

    result = {
        "pods": replicas,
        "ready": len(watch.ready),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "all_ready_after_create_ms": round(max(since_create), 1) if len(watch.ready) == replicas else None,
        # Upper bound per pod (from the Deployment's create call, so it includes the controllers' pace):
        # "seen" is when the watch delivered ADDED, which is late whenever the sandbox is busy.
        "from_deployment_create_p50_ms": round(statistics.median(since_create), 1) if since_create else None,
        "from_deployment_create_p99_ms": round(percentile(since_create, 0.99), 1) if since_create else None,
        "first_seen_after_create_ms": round((min(watch.seen.values()) - t0) * 1000, 1)
        if watch.seen
        else None,
        "last_seen_after_create_ms": round((max(watch.seen.values()) - t0) * 1000, 1) if watch.seen else None,
        # Where the time goes, per pod: created → bound, bound → container running, running → Ready.
        "stages": {
            "created_to_scheduled": stage(watch.scheduled, watch.seen),
            "scheduled_to_running": stage(watch.started, watch.scheduled),
            "running_to_ready": stage(watch.ready, watch.started),
        },
    }
    api.call(
        "DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/startup", {"propagationPolicy": "Background"}
    )
    # Wait for the 30 processes to go before the switch-over part (2 shared cores).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not api.call("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dstartup")["items"]:
            break
        time.sleep(0.3)
    return result


# -- 2. switch-over ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    service: str
    headless: bool
    balancing: str
    servers: str  # which server pair: "plain" or "aged" (max connection age)
    env: tuple[tuple[str, str], ...] = ()


MODES = (
    Mode("pick_first", "pf", False, "pick_first", "plain"),
    Mode("round_robin", "rr", True, "round_robin", "plain"),
    Mode(
        "round_robin_1s_reresolve_max_conn_age",
        "rrfast",
        True,
        "round_robin",
        "aged",
        (("GRPC_DNS_MIN_RESOLUTION_MS", "1000"),),
    ),
    Mode("lookaside_watch", "lw", False, "lookaside", "plain", (("LOOKASIDE_VARIANT", "watch"),)),
)


def server_deployment(pair: str, version: str, replicas: int) -> dict[str, Any]:
    args = ["server", "--listen", "0.0.0.0:50051", "--no-rpc-log"]
    if pair == "aged":
        args += ["--max-connection-age", "1"]
    labels = {"app": f"greet-{pair}", "version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"greet-{pair}-{version}", "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "greetserver",
                            "image": "switchyard/greet:0.1",
                            "args": args,
                            "ports": [{"name": "grpc", "containerPort": 50051}],
                            "env": [
                                {
                                    "name": "POD_NAME",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                },
                                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                                {
                                    "name": "POD_VERSION",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['version']"}},
                                },
                            ],
                            "readinessProbe": {"grpc": {"port": 50051}, "periodSeconds": 1},
                        }
                    ]
                },
            },
        },
    }


def service(mode: Mode) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "ports": [{"name": "grpc", "port": 50051, "targetPort": 50051}],
        "selector": {"app": f"greet-{mode.servers}", "version": "v1"},
    }
    if mode.headless:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": mode.service, "namespace": NS},
        "spec": spec,
    }


def gateway_pod(mode: Mode, lookaside_addr: str) -> dict[str, Any]:
    env = {
        "GRPC_BALANCING": mode.balancing,
        "GRPC_SERVER_HOST": f"{mode.service}.{NS}.svc.cluster.local",
        "GRPC_SVC": mode.service,
        "POD_NAMESPACE": NS,
        "LOOKASIDE_ADDR": lookaside_addr,
        "LOG_LEVEL": "WARNING",
        **dict(mode.env),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"gw-{mode.service}", "namespace": NS, "labels": {"app": "gateway"}},
        "spec": {
            "containers": [
                {
                    "name": "gateway",
                    "image": "switchyard/greet:0.1",
                    "args": ["gateway", "--listen", "0.0.0.0:9091"],
                    "ports": [{"containerPort": 9091}],
                    "env": [{"name": k, "value": v} for k, v in env.items()],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 9091}, "periodSeconds": 1},
                }
            ]
        },
    }


def lookaside_objects() -> list[dict[str, Any]]:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "lookaside", "namespace": NS, "labels": {"app": "lookaside"}},
        "spec": {
            "containers": [
                {
                    "name": "lookaside",
                    "image": "switchyard/greet:0.1",
                    "args": [
                        "lookaside",
                        "--listen",
                        "0.0.0.0:50055",
                        "--source",
                        "kubernetes",
                        "--no-rpc-log",
                    ],
                    "ports": [{"name": "grpc", "containerPort": 50055}],
                    "readinessProbe": {"grpc": {"port": 50055}, "periodSeconds": 1},
                }
            ]
        },
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "lookaside", "namespace": NS},
        "spec": {
            "ports": [{"name": "grpc", "port": 50055, "targetPort": 50055}],
            "selector": {"app": "lookaside"},
        },
    }
    return [pod, svc]


class Traffic(threading.Thread):
    """One request in flight at a time on a keep-alive connection; (monotonic send time, version)."""

    def __init__(self, address: str, stop_at: float) -> None:
        super().__init__(daemon=True)
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.stop_at = stop_at
        self.answers: list[tuple[float, str]] = []
        self.errors = 0
        self.halt = threading.Event()

    def run(self) -> None:
        body = json.dumps({"first_name": "Hitesh", "last_name": "Pattanayak"})
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=3)
        while not self.halt.is_set() and time.monotonic() < self.stop_at:
            sent = time.monotonic()
            try:
                conn.request("POST", "/greet", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.status == 200:
                    self.answers.append((sent, str(json.loads(data)["pod"]["version"])))
                else:
                    self.errors += 1
            except (OSError, http.client.HTTPException, ValueError):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=3)
                time.sleep(0.01)
        conn.close()


def switch_time(answers: list[tuple[float, str]], t0: float, new: str = "v2") -> float | None:
    """Start (s after t0) of the first 100 ms bin from which every bin to the end has ≥ 99 % `new` answers.

    Binning keeps early stragglers visible: a suffix share over the whole bound would dilute a burst of
    old answers right after the patch. None when the last bin is not there yet (not switched)."""
    bins: dict[int, list[bool]] = {}
    for t, version in answers:
        if t >= t0:
            bins.setdefault(int((t - t0) / BIN_S), []).append(version == new)
    if not bins:
        return None
    switched_from: int | None = None
    for index in sorted(bins):
        share = sum(bins[index]) / len(bins[index])
        if share < SWITCH_SHARE:
            switched_from = None
        elif switched_from is None:
            switched_from = index
    return None if switched_from is None else switched_from * BIN_S


def bench_switch(api: Api, mode: Mode, gateway: str, bound_s: float, warmup_s: float) -> dict[str, Any]:
    start = time.monotonic()
    traffic = Traffic(gateway, start + warmup_s + bound_s + 1)
    traffic.start()
    time.sleep(warmup_s)
    before = [v for _, v in traffic.answers]
    t0 = time.monotonic()
    api.call(
        "PATCH",
        f"/api/v1/namespaces/{NS}/services/{mode.service}",
        {"spec": {"selector": {"version": "v2"}}},
        content_type="application/merge-patch+json",
    )
    patched = time.monotonic() - t0
    # Stop early once switched for a full second (bounded either way).
    while time.monotonic() < t0 + bound_s:
        time.sleep(0.25)
        found = switch_time(list(traffic.answers), t0)
        if found is not None and time.monotonic() - t0 > found + 1.0:
            break
    traffic.halt.set()
    traffic.join(5)
    answers = list(traffic.answers)
    found = switch_time(answers, t0)
    after = [v for t, v in answers if t >= t0]
    return {
        "switch_s": round(found, 3) if found is not None else bound_s,
        "switched": found is not None,
        "bound_s": bound_s,
        "patch_call_ms": round(patched * 1000, 1),
        "answers_before": len(before),
        "v1_share_before": round(before.count("v1") / len(before), 3) if before else None,
        "answers_after": len(after),
        "v2_share_after": round(after.count("v2") / len(after), 3) if after else None,
        "errors": traffic.errors,
    }


def wait_ready(api: Api, selector: str, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    query = urllib.parse.urlencode({"labelSelector": selector})
    while True:
        pods = api.call("GET", f"/api/v1/namespaces/{NS}/pods?{query}")["items"]
        ready = [p for p in pods if _ready(p)]
        if len(ready) >= count:
            return ready
        if time.monotonic() > deadline:
            raise SystemExit(f"{selector}: {len(ready)}/{count} Ready after {timeout:.0f} s")
        time.sleep(0.3)


def answers_from(address: str) -> set[str]:
    """Versions answering over half a second of traffic, once the gateway answers at all."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        sample = Traffic(address, time.monotonic() + 0.5)
        sample.run()
        if sample.answers:
            return {v for _, v in sample.answers}
    return set()


def setup_switch(api: Api, modes: tuple[Mode, ...], replicas: int) -> dict[str, str]:
    lookaside_ip = ""
    for obj in lookaside_objects():
        plural = "pods" if obj["kind"] == "Pod" else "services"
        created = api.call("POST", f"/api/v1/namespaces/{NS}/{plural}", obj)
        if plural == "services":
            lookaside_ip = created["spec"]["clusterIP"]
    for pair in sorted({m.servers for m in modes}):
        for version in ("v1", "v2"):
            api.call(
                "POST",
                f"/apis/apps/v1/namespaces/{NS}/deployments",
                server_deployment(pair, version, replicas),
            )
    for mode in modes:
        api.call("POST", f"/api/v1/namespaces/{NS}/services", service(mode))
    for pair in sorted({m.servers for m in modes}):
        wait_ready(api, f"app=greet-{pair}", 2 * replicas, 90)
    wait_ready(api, "app=lookaside", 1, 60)
    for mode in modes:
        # The ClusterIP, not lookaside.bench.svc.cluster.local: the gateway resolves LOOKASIDE_ADDR with the
        # system resolver, not the cluster DNS (greet/gateway.py build_balancer; see the report).
        api.call("POST", f"/api/v1/namespaces/{NS}/pods", gateway_pod(mode, f"{lookaside_ip}:50055"))
    gateways: dict[str, str] = {}
    for pod in wait_ready(api, "app=gateway", len(modes), 60):
        gateways[pod["metadata"]["name"]] = f"{pod['status']['podIP']}:9091"
    for mode in modes:
        address = gateways[f"gw-{mode.service}"]
        if answers_from(address) != {"v1"}:
            raise SystemExit(f"{mode.name}: the gateway at {address} does not answer from v1 only")
    return {mode.name: gateways[f"gw-{mode.service}"] for mode in modes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="≤ 60 s: shorter observation bounds")
    args = parser.parse_args(argv)
    bound_s = 6.0 if args.quick else 40.0  # the full bound outlasts grpc's 30 s default re-resolution
    warmup_s = 1.0 if args.quick else 3.0
    server_replicas = 2

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        sandbox = sandbox_up(
            Path(tmp) / "state",
            extra_args=("--port", "0", "--pod-cidr", POD_CIDR, "--service-cidr", SERVICE_CIDR),
        )
        try:
            api = Api.of(sandbox)
            api.call(
                "POST",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
            )
            startup = bench_startup(api, STARTUP_PODS, bound_s=30.0)
            print(f"pod start-up ({STARTUP_PODS} pods): {json.dumps(startup)}", flush=True)
            gateways = setup_switch(api, MODES, server_replicas)
            switch: dict[str, dict[str, Any]] = {}
            for mode in MODES:
                switch[mode.name] = bench_switch(api, mode, gateways[mode.name], bound_s, warmup_s)
                note = (
                    ""
                    if switch[mode.name]["switched"]
                    else f" (did not switch within the {bound_s:.0f} s bound)"
                )
                print(f"switch-over {mode.name}: {json.dumps(switch[mode.name])}{note}", flush=True)
        finally:
            sandbox_down(sandbox)
    summary = {
        "quick": args.quick,
        "pod_startup_p50_ms": startup["p50_ms"],
        "pod_startup_p99_ms": startup["p99_ms"],
        "pod_startup": startup,
        "switch_s": {name: r["switch_s"] for name, r in switch.items()},
        "switched": {name: r["switched"] for name, r in switch.items()},
        "switch_bound_s": bound_s,
        "targets": {
            "pod_startup_p99_ms<=1500": startup["p99_ms"] is not None and startup["p99_ms"] <= 1500,
            "lookaside_watch_switch_s<=1": switch["lookaside_watch"]["switched"]
            and switch["lookaside_watch"]["switch_s"] <= 1.0,
        },
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
