"""Real greet processes on loopback: three servers on 127.0.0.2-4, a lookaside balancer, a DNS server
(dnslib, in a thread) answering three A records, and one gateway per balancing mode."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver

ROOT = Path(__file__).resolve().parents[2]
SERVER_IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
SERVICE_NAME = "greetserver.default.svc.cluster.local"
GREETING = {"first_name": "Hitesh", "last_name": "Pattanayak"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port_on_all(hosts: Sequence[str]) -> int:
    """A port that is free on every host right now (so the three servers can share it)."""
    for _ in range(50):
        port = free_port(hosts[0])
        try:
            with contextlib.ExitStack() as stack:
                for host in hosts:
                    sock = stack.enter_context(socket.socket())
                    sock.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


def wait_listening(host: str, port: int, proc: Proc, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited early:\n{proc.log_text()}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.name} does not listen on {host}:{port}:\n{proc.log_text()}")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def spawn(name: str, module_args: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Proc:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [sys.executable, "-m", *module_args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Proc(name=name, popen=popen, log_path=log_path)


@dataclass
class Fleet:
    """Everything one test module needs; stopped as a whole."""

    log_dir: Path
    port: int = 0
    servers: dict[str, Proc] = field(default_factory=dict)  # pod name -> process
    server_addresses: dict[str, str] = field(default_factory=dict)  # pod name -> ip:port
    metrics_ports: dict[str, int] = field(default_factory=dict)
    lookaside: str = ""
    dns_server: str = ""
    gateways: dict[str, str] = field(default_factory=dict)  # label -> base URL
    procs: list[Proc] = field(default_factory=list)
    _dns: DNSServer | None = None

    def start_servers(self, extra_args: Sequence[str] = ()) -> None:
        self.port = free_port_on_all(SERVER_IPS)
        for index, ip in enumerate(SERVER_IPS, start=1):
            pod = f"greetserver-{index}"
            metrics_port = free_port(ip)
            proc = spawn(
                pod,
                [
                    "greet.server",
                    "--listen",
                    f"{ip}:{self.port}",
                    "--metrics-port",
                    str(metrics_port),
                    *extra_args,
                ],
                self.log_dir,
                {"POD_NAME": pod, "POD_IP": ip, "POD_VERSION": "v1"},
            )
            self.procs.append(proc)
            self.servers[pod] = proc
            self.server_addresses[pod] = f"{ip}:{self.port}"
            self.metrics_ports[pod] = metrics_port

    def start_dns(self) -> None:
        zone = "\n".join(f"{SERVICE_NAME}. 5 IN A {ip}" for ip in SERVER_IPS)
        port = free_port()
        quiet = DNSLogger(logf=lambda _line: None)
        self._dns = DNSServer(ZoneResolver(zone), address="127.0.0.1", port=port, logger=quiet)
        self._dns.start_thread()
        self.dns_server = f"127.0.0.1:{port}"

    def start_lookaside(self) -> None:
        port = free_port()
        backends = ",".join(self.server_addresses.values())
        proc = spawn(
            "lookaside",
            [
                "greet.lookaside",
                "--listen",
                f"127.0.0.1:{port}",
                "--source",
                "static",
                "--backends",
                backends,
            ],
            self.log_dir,
        )
        self.procs.append(proc)
        self.lookaside = f"127.0.0.1:{port}"
        wait_listening("127.0.0.1", port, proc)

    def start_gateway(self, label: str, args: Sequence[str]) -> None:
        port = free_port()
        common = [
            "--listen",
            f"127.0.0.1:{port}",
            "--server-host",
            SERVICE_NAME,
            "--server-port",
            str(self.port),
            "--dns-server",
            self.dns_server,
            "--lookaside",
            self.lookaside,
        ]
        proc = spawn(f"gateway-{label}", ["greet.gateway", *common, *args], self.log_dir)
        self.procs.append(proc)
        self.gateways[label] = f"http://127.0.0.1:{port}"

    def wait_ready(self) -> None:
        for pod, proc in self.servers.items():
            host, port = self.server_addresses[pod].split(":")
            wait_listening(host, int(port), proc)
        for proc in self.procs:
            if proc.name.startswith("gateway-"):
                url = self.gateways[proc.name.removeprefix("gateway-")]
                host, port = url.removeprefix("http://").split(":")
                wait_listening(host, int(port), proc)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc.stop()
        if self._dns is not None:
            self._dns.stop()


GATEWAY_MODES = {
    "pick_first": ["--balancing", "pick_first"],
    "round_robin": ["--balancing", "round_robin"],
    "lookaside_resolve": ["--balancing", "lookaside", "--lookaside-variant", "resolve"],
    "lookaside_watch": ["--balancing", "lookaside", "--lookaside-variant", "watch"],
}


def start_fleet(log_dir: Path, modes: Sequence[str], server_args: Sequence[str] = ()) -> Fleet:
    fleet = Fleet(log_dir=log_dir)
    try:
        fleet.start_servers(server_args)
        fleet.start_dns()
        fleet.start_lookaside()
        for mode in modes:
            fleet.start_gateway(mode, GATEWAY_MODES[mode])
        fleet.wait_ready()
    except BaseException:
        fleet.stop()
        raise
    return fleet


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = start_fleet(tmp_path_factory.mktemp("greet-fleet"), list(GATEWAY_MODES))
    yield fleet
    fleet.stop()
