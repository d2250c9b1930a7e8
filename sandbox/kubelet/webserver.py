"""The built-in web server generic images (nginx, httpd…) run as:
``python -m sandbox.kubelet.webserver --host POD_IP --name POD --port P [--port P2] [--root DIR]``.

It answers every GET with the pod's name, or, with ``--root``, serves the files of that directory (the
volume mounted at nginx's document root; ``index.html`` for a directory) and falls back to the pod's
name for ``/`` while the directory has no index. SIGTERM stops it with exit code 0, as nginx does.
"""

from __future__ import annotations

import argparse
import mimetypes
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import unquote, urlsplit


class PodHandler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    pod_name = ""
    root: Path | None = None

    def _resolve(self) -> Path | None:
        if self.root is None:
            return None
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        target = (self.root / rel).resolve()
        root = self.root.resolve()
        if target != root and root not in target.parents:
            return None  # no escaping the document root
        if target.is_dir():
            target = target / "index.html"
        return target if target.is_file() else None

    def _answer(self, head_only: bool) -> None:
        path = self._resolve()
        if path is not None:
            body = path.read_bytes()
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            status = 200
        elif urlsplit(self.path).path in ("", "/") or self.root is None:
            body, ctype, status = f"{self.pod_name}\n".encode(), "text/plain", 200
        else:
            body, ctype, status = b"404 Not Found\n", "text/plain", 404
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(head_only=False)

    def do_HEAD(self) -> None:
        self._answer(head_only=True)

    def log_message(self, format: str, *args: object) -> None:
        # One access-log line per request on stdout, like nginx's access log to /dev/stdout.
        print(f'{self.client_address[0]} "{self.requestline}" {args[1] if len(args) > 1 else ""}', flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.kubelet.webserver")
    parser.add_argument("--host", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, action="append", default=[])
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args(argv)
    handler = type("Handler", (PodHandler,), {"pod_name": args.name, "root": args.root})
    servers = [ThreadingHTTPServer((args.host, port), handler) for port in args.port]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f"listening on {args.host}:{server.server_address[1]}", flush=True)
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    stop.wait()
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
