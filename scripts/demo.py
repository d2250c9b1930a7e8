"""``make demo`` (before the sandbox exists): three greet servers, the lookaside balancer and the gateway.

Servers on 127.0.0.2-4:50051, lookaside (static source) on 127.0.0.1:50055, gateway on
127.0.0.1:9091 in lookaside/watch mode. Prints a ready-to-paste curl; Ctrl-C stops every child.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
SERVER_PORT = 50051
LOOKASIDE = "127.0.0.1:50055"
GATEWAY = "127.0.0.1:9091"


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env={**os.environ, **(env or {})})


def wait_listening(
    children: list[subprocess.Popen[bytes]], host: str, port: int, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if any(child.poll() is not None for child in children):
                raise SystemExit(f"a demo process exited early (is {host}:{port} already in use?)") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.1)


def greet_once(url: str) -> str | None:
    body = json.dumps({"first_name": "Hitesh", "last_name": "Pattanayak"}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, OSError):
        return None


def stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 8
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("watch", "resolve"), default="watch")
    args = parser.parse_args(argv)

    children: list[subprocess.Popen[bytes]] = []
    try:
        for index, ip in enumerate(SERVER_IPS, start=1):
            env = {"POD_NAME": f"greetserver-{index}", "POD_IP": ip, "POD_VERSION": "v1"}
            children.append(spawn(["greet.server", "--listen", f"{ip}:{SERVER_PORT}", "--no-rpc-log"], env))
        for ip in SERVER_IPS:
            wait_listening(children, ip, SERVER_PORT)
        backends = ",".join(f"{ip}:{SERVER_PORT}" for ip in SERVER_IPS)
        children.append(
            spawn(["greet.lookaside", "--listen", LOOKASIDE, "--source", "static", "--backends", backends])
        )
        lookaside_host, lookaside_port = LOOKASIDE.split(":")
        wait_listening(children, lookaside_host, int(lookaside_port))
        children.append(
            spawn(
                [
                    "greet.gateway",
                    "--listen",
                    GATEWAY,
                    "--balancing",
                    "lookaside",
                    "--lookaside",
                    LOOKASIDE,
                    "--lookaside-variant",
                    args.variant,
                ]
            )
        )
        url = f"http://{GATEWAY}/greet"
        deadline = time.monotonic() + 30
        while greet_once(url) is None:
            if any(child.poll() is not None for child in children):
                print(
                    "a demo process exited early (is port 50051/50055/9091 already in use?)", file=sys.stderr
                )
                return 1
            if time.monotonic() > deadline:
                print("the gateway did not answer within 30 s", file=sys.stderr)
                return 1
            time.sleep(0.2)
        print(
            f"""
Switchyard demo is up: 3 greet servers ({", ".join(SERVER_IPS)}:{SERVER_PORT}),
lookaside balancer on {LOOKASIDE}, gateway on http://{GATEWAY} (lookaside/{args.variant}).

curl --request POST \\
  --url {url} \\
  --header 'Content-Type: application/json' \\
  --data '{{
    "first_name": "Hitesh",
    "last_name": "Pattanayak"
}}'

Add --header 'Accept: application/json' for JSON. Metrics: http://{GATEWAY}/metrics. Ctrl-C stops everything.
""",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a demo process exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all(children)


if __name__ == "__main__":
    sys.exit(main())
