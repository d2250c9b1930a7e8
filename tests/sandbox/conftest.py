"""A real sandbox for the tests: `python -m sandbox up` as a subprocess on a free loopback port.

Fixtures
    sandbox        (session) a running `SandboxProcess`: .kubeconfig, .url, .token, .state_dir,
                   .api_client() (official client), .kubectl(*args) (subprocess), .request(...) (raw HTTPS)
    api_client     (session) `kubernetes.client.ApiClient` configured from the sandbox's kubeconfig
    namespace      (function) a fresh namespace, deleted afterwards
    start_sandbox  (function) factory for private sandboxes (restart/kill tests); all stopped at teardown
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config

from sandbox.kubelet.runtime import kill_stale_pod_processes

REPO = Path(__file__).resolve().parents[2]


@dataclass
class SandboxProcess:
    state_dir: Path
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    token: str = ""
    extra_args: tuple[str, ...] = ()
    _pool: urllib3.PoolManager | None = field(default=None, repr=False)

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def start(self, timeout: float = 30.0) -> None:
        runfile = self.state_dir / "sandbox.json"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        runfile.unlink(missing_ok=True)
        log = (self.state_dir / "sandbox.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "up",
                "--state-dir",
                str(self.state_dir),
                "--port",
                "0",
                *self.extra_args,
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self.process.returncode}: {self.log_tail()}")
            try:
                info = json.loads(runfile.read_text())
            except (OSError, ValueError):
                time.sleep(0.05)
                continue
            if info.get("pid") == self.process.pid:
                self.url = info["url"]
                self.token = (self.state_dir / "token").read_text().strip()
                self._pool = None
                return
            time.sleep(0.05)
        self.stop(kill=True)
        raise RuntimeError(f"sandbox did not start within {timeout}s: {self.log_tail()}")

    def stop(self, kill: bool = False, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        # A killed sandbox cannot stop its pods; `sandbox down` on a stopped state dir does (nothing may
        # outlive a test).
        kill_stale_pod_processes(self.state_dir)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return (self.state_dir / "sandbox.log").read_text()[-n:]
        except OSError:
            return ""

    def api_client(self) -> client.ApiClient:
        api: client.ApiClient = config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]
        return api

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.state_dir)}
        cmd = ["kubectl", "--cache-dir", str(self.state_dir / "kube-cache"), *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True, env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        *,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        preload: bool = True,
    ) -> urllib3.BaseHTTPResponse:
        """A raw HTTPS request (default: with the sandbox token); returns the urllib3 response.

        With preload=False the body is streamed (watches, `follow` logs): iterate `resp.stream()`
        or read lines with `watch_events`.
        """
        if self._pool is None:
            ctx = ssl.create_default_context(cafile=str(self.state_dir / "pki" / "ca.crt"))
            self._pool = urllib3.PoolManager(ssl_context=ctx, retries=False)
        hdrs = {"Authorization": f"Bearer {self.token if token is None else token}"}
        if content_type:
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        return self._pool.request(
            method, self.url + path, body=data, headers=hdrs, timeout=timeout, preload_content=preload
        )


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    proc = SandboxProcess(tmp_path_factory.mktemp("sandbox-state"))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def api_client(sandbox: SandboxProcess) -> Iterator[client.ApiClient]:
    api = sandbox.api_client()
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def namespace(api_client: client.ApiClient) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core: Any = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    started: list[SandboxProcess] = []

    def start(state_dir: Path | None = None, *extra_args: str) -> SandboxProcess:
        proc = SandboxProcess(state_dir or tmp_path / f"sandbox-{len(started)}", extra_args=extra_args)
        proc.start()
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()  # SIGTERM: the kubelet stops its pods (a SIGKILL could orphan one it was starting)


def watch_events(resp: urllib3.BaseHTTPResponse, count: int | None = None) -> list[dict[str, Any]]:
    """Read newline-delimited watch events from a streaming response (all of them, or `count`)."""
    events: list[dict[str, Any]] = []
    buf = b""
    for chunk in resp.stream(4096):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                events.append(json.loads(line))
                if count is not None and len(events) >= count:
                    # Stopping mid-stream: close the connection, never hand a half-read one back to the pool.
                    resp.close()
                    resp.release_conn()
                    return events
    return events
