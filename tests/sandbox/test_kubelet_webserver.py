"""The built-in web server of generic images, as a real process: pod name, document root, HEAD, 404,
501, no escaping the root, access log on stdout, SIGTERM exits 0."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.kubelet import images


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    root = tmp_path / "html"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("outside\n")
    port = free_port()
    program = images.program_for(
        {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": port}]},
        pod_name="web-abc12",
        pod_ip="127.0.0.1",
        mounts={},
        document_root=root,
        command=None,
        args=None,
    )
    assert program.kind == "web"
    proc = subprocess.Popen(
        program.argv,
        env={"PYTHONPATH": str(images.PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == f"listening on 127.0.0.1:{port}"
    try:
        yield proc, port, root
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def get(port: int, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def test_pod_name_then_document_root_files(server: tuple[subprocess.Popen[str], int, Path]) -> None:
    proc, port, root = server
    assert get(port, "/") == (200, "text/plain", b"web-abc12\n")
    assert get(port, "/missing.html")[0] == 404
    (root / "index.html").write_text("blue\n")
    (root / "sub").mkdir()
    (root / "sub" / "a b.css").write_text("p{}")
    assert get(port, "/") == (200, "text/html", b"blue\n")
    assert get(port, "/index.html?x=1") == (200, "text/html", b"blue\n")
    assert get(port, "/sub/a%20b.css") == (200, "text/css", b"p{}")
    status, _, body = get(port, "/", method="HEAD")
    assert (status, body) == (200, b"")
    assert get(port, "/../secret.txt")[0] == 404
    assert get(port, "/%2e%2e/secret.txt")[0] == 404
    assert get(port, "/", method="POST")[0] == 501
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert proc.stdout is not None
    log = proc.stdout.read().splitlines()
    assert log[0] == '127.0.0.1 "GET / HTTP/1.1" 200'
    assert '127.0.0.1 "GET /missing.html HTTP/1.1" 404' in log
    assert log[-1] == '127.0.0.1 "POST / HTTP/1.1" 501'


def test_without_root_every_path_answers_the_pod_name() -> None:
    port = free_port()
    argv = [sys.executable, "-S", "-m", "sandbox.kubelet.webserver", "--host", "127.0.0.1", "--name", "p"]
    proc = subprocess.Popen(
        [*argv, "--port", str(port)],
        env={"PYTHONPATH": str(images.PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        assert get(port, "/any/thing") == (200, "text/plain", b"p\n")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"garbage\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.0 400 ")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0


def test_starts_without_importing_the_kubelet() -> None:
    """What makes 30 pods cheap to start: the server imports neither the runtime nor http.server."""
    out = subprocess.run(
        [sys.executable, "-S", "-c", "import sys, sandbox.kubelet.webserver; print(sorted(sys.modules))"],
        env={"PYTHONPATH": str(images.PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for heavy in ("sandbox.kubelet.runtime", "asyncio", "grpc", "http.server", "argparse", "typing"):
        assert f"'{heavy}'" not in out
