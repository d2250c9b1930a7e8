"""`python -m sandbox up|down|status --state-dir DIR [--port N]`: run, stop or inspect the sandbox cluster.

`up` runs in the foreground until SIGTERM/SIGINT: it opens the store in DIR, serves the API over HTTPS on
127.0.0.1, writes DIR/kubeconfig, then starts the components that `sandbox.cluster.build_components`
returns (controllers, kubelet, network; issue 4) and stops them in reverse order on the way out.
DIR/sandbox.json holds the pid and the server URL while it runs; `down` and `status` read it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.hooks import Component, SandboxConfig, SandboxContext

log = logging.getLogger("sandbox")


def _runfile(state_dir: Path) -> Path:
    return state_dir / "sandbox.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """An `up` that has exited but whose parent (a test runner, a script) has not reaped it yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may itself contain spaces.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def read_runfile(state_dir: Path) -> dict[str, Any] | None:
    """The running sandbox's {pid, url, port, kubeconfig}, or None when none is running."""
    try:
        info = json.loads(_runfile(state_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int) or not _alive(info["pid"]):
        return None
    return info


def _build_components(ctx: SandboxContext) -> list[Component]:
    try:
        cluster = importlib.import_module("sandbox.cluster")
    except ModuleNotFoundError as exc:
        if exc.name not in ("sandbox.cluster",):
            raise
        return []
    components: list[Component] = cluster.build_components(ctx)
    return components


async def run_up(config: SandboxConfig) -> int:
    from sandbox.apiserver.app import ApiServer
    from sandbox.apiserver.certs import ensure_pki
    from sandbox.apiserver.kubeconfig import ensure_token, write_kubeconfig
    from sandbox.apiserver.storage import Store

    state_dir = config.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    running = read_runfile(state_dir)
    if running is not None:
        print(f"sandbox already running (pid {running['pid']}) at {running.get('url')}", file=sys.stderr)
        return 1
    store = Store.open(
        state_dir,
        service_cidr=config.service_cidr,
        node_port_range=config.node_port_range,
        watch_window=int(config.extra.get("watch_window", 20000)),
    )
    pki = ensure_pki(state_dir, (config.host, "localhost"))
    token = ensure_token(state_dir)
    ctx = SandboxContext(config=config, store=store, token=token, ca_file=pki.ca_cert)
    components = _build_components(ctx)  # may register admission before the first request

    server = ApiServer(store, token=token, state_dir=state_dir)
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=pki.ssl_context(), reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    port = sockets[0].getsockname()[1] if sockets else config.port
    url = f"https://{config.host}:{port}"
    server.server_address = f"{config.host}:{port}"
    kubeconfig = write_kubeconfig(state_dir, url, pki.ca_cert, token)
    ctx.server_url, ctx.kubeconfig = url, kubeconfig

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    started: list[Component] = []
    try:
        for component in components:
            await component.start(ctx)
            started.append(component)
        info = {"pid": os.getpid(), "url": url, "port": port, "kubeconfig": str(kubeconfig)}
        tmp = _runfile(state_dir).with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(_runfile(state_dir))
        print(f"sandbox API server: {url}")
        for line in ctx.announcements:
            print(line)
        print(f"export KUBECONFIG={kubeconfig}", flush=True)
        await stop.wait()
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %r", component)
        await runner.cleanup()
        store.close()
        with contextlib.suppress(FileNotFoundError):
            info_now = json.loads(_runfile(state_dir).read_text())
            if info_now.get("pid") == os.getpid():
                _runfile(state_dir).unlink()
    return 0


def run_down(state_dir: Path, timeout: float = 30.0) -> int:
    info = read_runfile(state_dir)
    if info is None:
        from sandbox.kubelet.runtime import kill_stale_pod_processes

        leftovers = kill_stale_pod_processes(state_dir)
        print(
            "sandbox is not running" + (f"; killed {leftovers} leftover pod processes" if leftovers else "")
        )
        return 0
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        print(f"sandbox (pid {pid}) did not stop within {timeout:.0f}s; killed")
        return 1
    print(f"sandbox (pid {pid}) stopped")
    return 0


def run_status(state_dir: Path) -> int:
    info = read_runfile(state_dir)
    if info is None:
        print("sandbox is not running")
        return 3
    print(f"sandbox running: pid {info['pid']}, API server {info['url']}")
    print(f"export KUBECONFIG={info['kubeconfig']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=6443, help="API server port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--service-cidr", default="127.2.0.0/16")
    parser.add_argument("--pod-cidr", default="127.1.0.0/16")
    parser.add_argument("--dns-port", type=int, default=0)
    parser.add_argument("--ingress-port", type=int, default=0)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--watch-window", type=int, default=20000, help="watch events kept for resuming")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    state_dir = args.state_dir.resolve()
    if args.command == "down":
        return run_down(state_dir)
    if args.command == "status":
        return run_status(state_dir)
    if not args.host.startswith("127."):
        parser.error("the sandbox serves on loopback addresses only")
    config = SandboxConfig(
        state_dir=state_dir,
        host=args.host,
        port=args.port,
        service_cidr=args.service_cidr,
        pod_cidr=args.pod_cidr,
        dns_port=args.dns_port,
        ingress_port=args.ingress_port,
        extra={"watch_window": args.watch_window},
    )
    return asyncio.run(run_up(config))


if __name__ == "__main__":
    sys.exit(main())
