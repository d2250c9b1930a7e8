"""End-to-end fixtures: one sandbox per test session, driven with kubectl as a subprocess.

Reuses `SandboxProcess` from tests/sandbox/conftest.py (the API engineer's fixture) and adds what the
end-to-end tests need on top: the DNS and ingress addresses `up` prints, private pod/Service ranges
(other engineers run sandboxes on this machine at the same time, on the default 127.1/127.2 ranges),
bounded waits and greet requests through the Ingress.

Fixtures
    cluster        (session) a running `Cluster` (SandboxProcess + dns + ingress)
    greet_system   (session) deploy/greet applied in `default`, every greet pod Ready
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dnslib import QTYPE, DNSRecord

from tests.sandbox.conftest import SandboxProcess

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = Path(__file__).resolve().parent / "manifests"
# Ranges no other test suite uses by default, so pod IPs and ClusterIPs never collide across sandboxes.
POD_CIDR = "127.61.0.0/16"
SERVICE_CIDR = "127.62.0.0/16"

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0, every: float = 0.25) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Cluster:
    sandbox: SandboxProcess
    dns: tuple[str, int] = ("", 0)
    ingress: str = ""

    @property
    def state_dir(self) -> Path:
        return self.sandbox.state_dir

    def start(self) -> None:
        self.sandbox.start()
        self.read_addresses()

    def stop(self) -> None:
        self.sandbox.stop()

    def read_addresses(self) -> None:
        # `up` prints "dns: HOST:PORT (...)" and "ingress: http://HOST:PORT"; the log is appended to
        # across restarts, so the last lines are the current ones.
        text = (self.state_dir / "sandbox.log").read_text()
        dns = re.findall(r"^dns: ([\d.]+):(\d+)", text, re.M)
        ingress = re.findall(r"^ingress: (http://[\d.]+:\d+)", text, re.M)
        assert dns and ingress, f"`sandbox up` did not print the dns/ingress addresses:\n{text[-2000:]}"
        self.dns = (dns[-1][0], int(dns[-1][1]))
        self.ingress = ingress[-1]

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0) -> str:
        return self.sandbox.kubectl(*args, input=input, check=check, timeout=timeout).stdout

    def create_namespace(self, name: str) -> None:
        self.kubectl("create", "namespace", name)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get_json("pods", "-n", namespace, "-l", selector)["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def ready_pods(
        self, namespace: str, selector: str, count: int, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        """Wait until exactly `count` live pods match `selector` and all are Ready."""

        def probe() -> list[dict[str, Any]] | None:
            pods = self.pods(namespace, selector)
            return pods if len(pods) == count and all(pod_ready(p) for p in pods) else None

        return wait_for(f"{count} Ready pods for {selector} in {namespace}", probe, timeout, every=0.5)

    def endpoint_ips(self, namespace: str, service: str) -> tuple[list[str], list[str]]:
        """(ready, not ready) addresses of the Service's Endpoints."""
        result = self.sandbox.kubectl("get", "endpoints", service, "-n", namespace, "-o", "json", check=False)
        if result.returncode != 0:
            return [], []
        ready: list[str] = []
        not_ready: list[str] = []
        for subset in json.loads(result.stdout).get("subsets") or []:
            ready += [a["ip"] for a in subset.get("addresses") or []]
            not_ready += [a["ip"] for a in subset.get("notReadyAddresses") or []]
        return sorted(ready), sorted(not_ready)

    def dns_a(self, name: str) -> list[str]:
        reply = DNSRecord.parse(DNSRecord.question(name, "A").send(*self.dns, timeout=2))
        return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A)

    def greet(self, host: str, timeout: float = 3.0) -> dict[str, Any]:
        """One `POST /greet` through the Ingress with `Host: <host>`; the gateway's JSON answer."""
        body = json.dumps({"first_name": "Hitesh", "last_name": "Pattanayak"}).encode()
        request = urllib.request.Request(
            self.ingress + "/greet",
            data=body,
            headers={"Host": host, "Content-Type": "application/json", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def http_get(ip: str, port: int, path: str = "/", timeout: float = 2.0) -> str:
    """A fresh TCP connection per call (urllib does not pool): each one is a new kube-proxy pick."""
    with urllib.request.urlopen(f"http://{ip}:{port}{path}", timeout=timeout) as response:
        return str(response.read().decode()).strip()


def try_http_get(ip: str, port: int, path: str = "/") -> str | None:
    try:
        return http_get(ip, port, path)
    except (urllib.error.URLError, OSError):
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def new_cluster(state_dir: Path, pod_cidr: str = POD_CIDR, service_cidr: str = SERVICE_CIDR) -> Cluster:
    sandbox = SandboxProcess(state_dir, extra_args=("--pod-cidr", pod_cidr, "--service-cidr", service_cidr))
    return Cluster(sandbox)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = new_cluster(tmp_path_factory.mktemp("e2e-sandbox"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def greet_system(cluster: Cluster) -> Cluster:
    cluster.kubectl("apply", "-f", str(REPO / "deploy" / "greet"))
    cluster.ready_pods("default", "run=greetserver", 3)
    for selector in (
        "run=greetclient",
        "run=greetclient-pick-first",
        "run=greetclient-lookaside",
        "run=lookaside",
    ):
        cluster.ready_pods("default", selector, 1)
    return cluster
