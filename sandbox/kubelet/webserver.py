"""The built-in web server generic images (nginx, httpd…) run as:
``python -m sandbox.kubelet.webserver --host POD_IP --name POD --port P [--port P2] [--root DIR]``.

It answers every GET with the pod's name, or, with ``--root``, serves the files of that directory (the
volume mounted at nginx's document root; ``index.html`` for a directory) and falls back to the pod's
name for ``/`` while the directory has no index. SIGTERM stops it with exit code 0, as nginx does.

Every generic pod is one of these processes, so start-up cost is pod start-up latency: the module uses
sockets and threads only (no ``http.server``/``email``/``ssl``/``argparse``, which cost more CPU to
import than the interpreter takes to start); ``mimetypes`` and ``urllib.parse`` load only with
``--root``. HTTP/1.0 semantics as ``http.server``'s default: one request per connection.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time

MAX_HEAD = 65536
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 501: "Not Implemented"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(now: float | None = None) -> str:
    t = time.gmtime(now)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


class PodServer:
    def __init__(self, pod_name: str, root: str | None) -> None:
        self.pod_name = pod_name
        self.root = os.path.realpath(root) if root is not None else None

    def resolve(self, path: str) -> str | None:
        """The file under the document root that `path` names, if any (no escaping the root)."""
        if self.root is None:
            return None
        from urllib.parse import unquote

        target = os.path.realpath(os.path.join(self.root, unquote(path).lstrip("/")))
        if target != self.root and not target.startswith(self.root.rstrip("/") + "/"):
            return None
        if os.path.isdir(target):
            target = os.path.join(target, "index.html")
        return target if os.path.isfile(target) else None

    def answer(self, method: str, target: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET or HEAD of `target`."""
        path = target.split("?", 1)[0].split("#", 1)[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        found = self.resolve(path)
        if found is not None:
            import mimetypes

            with open(found, "rb") as f:
                body = f.read()
            return 200, mimetypes.guess_type(found)[0] or "application/octet-stream", body
        if path in ("", "/") or self.root is None:
            return 200, "text/plain", f"{self.pod_name}\n".encode()
        return 404, "text/plain", b"404 Not Found\n"

    def handle(self, conn: socket.socket, client: str) -> None:
        with conn:
            conn.settimeout(30.0)
            head = b""
            try:
                while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < MAX_HEAD:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            except OSError:
                return
            if not head:
                return
            request_line = head.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
            parts = request_line.split()
            method = parts[0] if parts else ""
            if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].startswith("HTTP/")):
                status, ctype, body = 400, "text/plain", b"400 Bad Request\n"
            elif method not in ("GET", "HEAD"):
                status, ctype, body = 501, "text/plain", f"501 Unsupported method ({method!r})\n".encode()
            else:
                try:
                    status, ctype, body = self.answer(method, parts[1])
                except OSError:
                    status, ctype, body = 404, "text/plain", b"404 Not Found\n"
            response = (
                f"HTTP/1.0 {status} {REASONS[status]}\r\nServer: nginx\r\nDate: {http_date()}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode("latin-1")
            if method != "HEAD":
                response += body
            with contextlib.suppress(OSError):
                conn.sendall(response)
            # One access-log line per request on stdout, like nginx's access log to /dev/stdout.
            print(f'{client} "{request_line}" {status}', flush=True)

    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, address = listener.accept()
            except OSError:
                return  # closed on shutdown
            threading.Thread(target=self.handle, args=(conn, address[0]), daemon=True).start()


def listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


USAGE = "usage: python -m sandbox.kubelet.webserver --host HOST --name NAME [--port PORT]... [--root DIR]"


def parse_args(argv: list[str]) -> tuple[str, str, list[int], str | None]:
    host = name = root = None
    ports: list[int] = []
    it = iter(argv)
    for flag in it:
        key, eq, inline = flag.partition("=")
        value = inline if eq else next(it, None)
        if value is None or key not in ("--host", "--name", "--port", "--root"):
            raise SystemExit(f"{USAGE}\nerror: bad argument {flag!r}")
        if key == "--host":
            host = value
        elif key == "--name":
            name = value
        elif key == "--root":
            root = value
        elif value.isdigit():
            ports.append(int(value))
        else:
            raise SystemExit(f"{USAGE}\nerror: argument --port: invalid int value: {value!r}")
    if host is None or name is None:
        raise SystemExit(f"{USAGE}\nerror: --host and --name are required")
    return host, name, ports, root


def main(argv: list[str] | None = None) -> None:
    host, name, ports, root = parse_args(sys.argv[1:] if argv is None else argv)
    server = PodServer(name, root)
    listeners = [listen(host, port) for port in ports]
    for listener in listeners:
        threading.Thread(target=server.serve, args=(listener,), daemon=True).start()
        print(f"listening on {host}:{listener.getsockname()[1]}", flush=True)
    stop = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    stop.wait()
    for listener in listeners:
        listener.close()


if __name__ == "__main__":
    main()
