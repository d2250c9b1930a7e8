"""Dashboard fixtures: users by role, the process's watch hub pointed at a sandbox, a live daphne.

Fixtures
    kube_sandbox, cluster, kube_namespace   from tests/kube/conftest.py (a real sandbox)
    sandbox_hub   (function) settings point at the sandbox's kubeconfig; a fresh dashboard.hub for the test
    viewer, operator (function) users created through `manage.py adduser`; PASSWORD is their password
    live_daphne   (function) daphne serving config.asgi on a free loopback port, sharing the test database
                  (file-backed SQLite): yields its base URL. For browser tests; needs transactional_db.
    greet_sandbox (session) a sandbox of its own (private pod/Service ranges) running deploy/greet, every
                  greet pod Ready: a tests.e2e Cluster (.kubectl, .dns, .sandbox.kubeconfig)
    greet_daphne  (function) live_daphne pointed at greet_sandbox, with SWITCHYARD_DNS_SERVER its DNS
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from dashboard.hub import get_hub, reset_hub
from kube.watching import WatchHub
from tests.e2e.conftest import Cluster as GreetCluster
from tests.e2e.conftest import new_cluster
from tests.kube.conftest import cluster, kube_namespace, kube_sandbox  # noqa: F401  (fixtures)
from tests.sandbox.conftest import SandboxProcess

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "signal-box-lever-42"


@pytest.fixture
def sandbox_hub(settings: Any, kube_sandbox: SandboxProcess) -> Iterator[WatchHub]:  # noqa: F811
    settings.SWITCHYARD_KUBECONFIG = str(kube_sandbox.kubeconfig)
    settings.SWITCHYARD_CONTEXTS = []
    reset_hub()
    try:
        yield get_hub()
    finally:
        reset_hub()


def _adduser(name: str, role: str) -> Any:
    call_command("adduser", name, "--role", role, "--password", PASSWORD, stdout=StringIO())
    return get_user_model().objects.get(username=name)


@pytest.fixture
def viewer(db: None) -> Any:
    return _adduser("vera", "viewer")


@pytest.fixture
def operator(db: None) -> Any:
    return _adduser("otto", "operator")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live_daphne(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[str]:
    db_name = str(connection.settings_dict["NAME"])
    if ":memory:" in db_name or "mode=memory" in db_name:
        pytest.fail("live_daphne needs a file-backed test database (config.settings sets one for SQLite)")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "insecure-key-for-the-test-suite-only",
        "SWITCHYARD_SQLITE_PATH": db_name,
        "SWITCHYARD_KUBECONFIG": str(settings.SWITCHYARD_KUBECONFIG),
        "SWITCHYARD_DNS_SERVER": str(getattr(settings, "SWITCHYARD_DNS_SERVER", "")),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    log = (tmp_path / "daphne.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"daphne exited: {(tmp_path / 'daphne.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


# Ranges no other suite uses (e2e: 127.61/127.62), so greet pods never collide with another sandbox's.
GREET_POD_CIDR = "127.65.0.0/16"
GREET_SERVICE_CIDR = "127.66.0.0/16"


@pytest.fixture(scope="session")
def greet_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GreetCluster]:
    running = new_cluster(tmp_path_factory.mktemp("greet-sandbox"), GREET_POD_CIDR, GREET_SERVICE_CIDR)
    running.start()
    try:
        running.kubectl("apply", "-f", str(REPO / "deploy" / "greet"))
        running.ready_pods("default", "run=greetserver", 3, timeout=90)
        running.ready_pods("default", "run=lookaside", 1, timeout=60)
        yield running
    finally:
        running.stop()


@pytest.fixture
def greet_settings(settings: Any, greet_sandbox: GreetCluster) -> GreetCluster:
    settings.SWITCHYARD_KUBECONFIG = str(greet_sandbox.sandbox.kubeconfig)
    settings.SWITCHYARD_CONTEXTS = []
    settings.SWITCHYARD_DNS_SERVER = "{}:{}".format(*greet_sandbox.dns)
    return greet_sandbox


@pytest.fixture
def greet_daphne(greet_settings: GreetCluster, live_daphne: str) -> str:
    return live_daphne
