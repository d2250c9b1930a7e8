"""``make demo``: the sandbox cluster with the seed's workloads, applied with kubectl.

Steps, in order (each a function below, so later issues can add theirs — e.g. the dashboard after
the workloads):

1. ``sandbox_up``            ``python -m sandbox up --state-dir ./state/sandbox`` (state reused across runs)
2. ``apply_workloads``       ``kubectl apply -f deploy/greet -f deploy/bluegreen -f deploy/canary`` and the
                             seed's quota namespace (resource_quota, dep_without_quota, dep_with_quota —
                             not the LimitRange: applying it is the demo's moment)
3. ``wait_greet_ready``      the greet pods Ready and the Ingress answering for ``greet.com``
4. ``start_dashboard``       ``manage.py migrate``, the demo operator (its password printed once, on the run
                             that creates it), then daphne on 127.0.0.1:8000 watching the sandbox
5. ``print_instructions``    the dashboard URL, the ready-to-paste curl through the Ingress and
                             ``export KUBECONFIG=…``

Ctrl-C (or the sandbox exiting) stops everything: ``sandbox down`` stops the pods with it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / "state" / "sandbox"
DASHBOARD_DIR = ROOT / "state" / "dashboard"
DASHBOARD_ADDRESS = ("127.0.0.1", 8000)
DEMO_USER = "demo"
WORKLOADS = ("deploy/greet", "deploy/bluegreen", "deploy/canary")
QUOTA_FILES = (
    "deploy/quota/resource_quota.yaml",
    "deploy/quota/dep_without_quota.yaml",
    "deploy/quota/dep_with_quota.yaml",
)
# (namespace, label selector, replicas) of the greet pods the curl goes through.
GREET_PODS = (
    ("default", "run=greetserver", 3),
    ("default", "run=greetclient", 1),
    ("default", "run=greetclient-pick-first", 1),
    ("default", "run=greetclient-lookaside", 1),
    ("default", "run=lookaside", 1),
)


@dataclass
class Sandbox:
    """A `python -m sandbox up` child process and the addresses it printed."""

    state_dir: Path
    process: subprocess.Popen[bytes]
    url: str = ""
    kubeconfig: Path = field(default_factory=Path)
    dns: str = ""
    ingress: str = ""
    # Processes started after the sandbox (the dashboard), stopped before it.
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    dashboard_url: str = ""
    credentials: str = ""

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60.0) -> str:
        result = subprocess.run(
            ["kubectl", *args], capture_output=True, text=True, env=self.env(), timeout=timeout, cwd=ROOT
        )
        if check and result.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def alive(self) -> bool:
        return self.process.poll() is None


def sandbox_up(state_dir: Path, *, extra_args: tuple[str, ...] = (), timeout: float = 60.0) -> Sandbox:
    """Start the sandbox on `state_dir` and wait until it has written its run file and addresses."""
    state_dir.mkdir(parents=True, exist_ok=True)
    runfile = state_dir / "sandbox.json"
    if runfile.exists():
        info = json.loads(runfile.read_text() or "{}")
        pid = info.get("pid")
        if isinstance(pid, int) and _alive(pid):
            raise SystemExit(
                f"a sandbox already runs on {state_dir} (pid {pid}); stop it with "
                f"`python -m sandbox down --state-dir {state_dir}`"
            )
        runfile.unlink()
    log_path = state_dir / "up.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "up", "--state-dir", str(state_dir), *extra_args],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop the sandbox in order
    )
    sandbox = Sandbox(state_dir=state_dir, process=process)
    try:
        return _wait_up(sandbox, log_path, timeout)
    except BaseException:  # Ctrl-C included: the child has its own session and would outlive us
        sandbox_down(sandbox)
        raise


def _wait_up(sandbox: Sandbox, log_path: Path, timeout: float) -> Sandbox:
    process = sandbox.process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"sandbox up exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        text = log_path.read_text()
        kubeconfig = re.search(r"^export KUBECONFIG=(\S+)$", text, re.M)
        if kubeconfig:
            sandbox.kubeconfig = Path(kubeconfig.group(1))
            sandbox.url = _match(r"^sandbox API server: (\S+)$", text)
            sandbox.dns = _match(r"^dns: (\S+)", text)
            sandbox.ingress = _match(r"^ingress: (\S+)$", text)
            return sandbox
        time.sleep(0.1)
    raise SystemExit(f"sandbox up did not come up within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def sandbox_down(sandbox: Sandbox, timeout: float = 30.0) -> None:
    """SIGTERM, as `python -m sandbox down` sends: the sandbox stops its pods, then itself."""
    for child in sandbox.children:
        _stop(child)
    if not sandbox.alive():
        return
    sandbox.process.send_signal(signal.SIGTERM)
    try:
        sandbox.process.wait(timeout)
    except subprocess.TimeoutExpired:
        sandbox.process.kill()
        sandbox.process.wait(5)


def apply_workloads(sandbox: Sandbox) -> None:
    args = ["apply"]
    for folder in WORKLOADS:
        args += ["-f", folder]
    print(sandbox.kubectl(*args), end="")
    for path in QUOTA_FILES:
        print(sandbox.kubectl("apply", "-f", path), end="")


def wait_greet_ready(sandbox: Sandbox, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    for namespace, selector, replicas in GREET_PODS:
        while True:
            pods = json.loads(sandbox.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json"))[
                "items"
            ]
            ready = [p for p in pods if _ready(p) and not p["metadata"].get("deletionTimestamp")]
            if len(ready) >= replicas:
                break
            if not sandbox.alive() or time.monotonic() > deadline:
                raise SystemExit(f"{selector}: {len(ready)}/{replicas} pods Ready after {timeout:.0f} s")
            time.sleep(0.5)
    while greet_once(sandbox.ingress, "greet.com") is None:
        if not sandbox.alive() or time.monotonic() > deadline:
            raise SystemExit(f"the Ingress at {sandbox.ingress} did not answer for greet.com")
        time.sleep(0.3)


def dashboard_env(sandbox: Sandbox) -> dict[str, str]:
    """The dashboard's settings for the demo: its own SQLite file and secret key under ./state/dashboard."""
    DASHBOARD_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DASHBOARD_DIR / "secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return {
        **sandbox.env(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": key_file.read_text().strip(),
        "SWITCHYARD_SQLITE_PATH": str(DASHBOARD_DIR / "db.sqlite3"),
        "SWITCHYARD_KUBECONFIG": str(sandbox.kubeconfig),
        "SWITCHYARD_DNS_SERVER": sandbox.dns,
    }


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def start_dashboard(sandbox: Sandbox, timeout: float = 60.0) -> None:
    env = dashboard_env(sandbox)
    migrate = _manage(env, "migrate", "--noinput")
    if migrate.returncode != 0:
        raise SystemExit(f"manage.py migrate failed:\n{migrate.stdout}{migrate.stderr}")
    created = _manage(env, "adduser", DEMO_USER, "--role", "operator", "--generate-password")
    password = re.search(r"^password: (\S+)$", created.stdout, re.M)
    if created.returncode == 0 and password:
        sandbox.credentials = f"user {DEMO_USER}, password {password.group(1)} — shown this once"
    else:  # the user exists from an earlier run: its password was printed then
        sandbox.credentials = (
            f"user {DEMO_USER!r} (password printed on the first run; new one: "
            f"python manage.py adduser {DEMO_USER} --role operator --generate-password --update)"
        )
    host, port = DASHBOARD_ADDRESS
    log = (DASHBOARD_DIR / "daphne.log").open("wb")
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    sandbox.children.append(daphne)
    sandbox.dashboard_url = f"http://{host}:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(sandbox.dashboard_url + "healthz", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            pass
        if daphne.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the dashboard did not start; see {DASHBOARD_DIR / 'daphne.log'}")
        time.sleep(0.3)


def print_instructions(sandbox: Sandbox) -> None:
    if sandbox.dashboard_url:
        print(f"\nSwitchyard dashboard: {sandbox.dashboard_url}  ({sandbox.credentials})", flush=True)
    print(
        f"""
Switchyard demo: the sandbox runs the seed's workloads (API server {sandbox.url}, DNS {sandbox.dns}).

export KUBECONFIG={sandbox.kubeconfig}
kubectl get po -l run=greetserver -o wide

curl --request POST \\
  --url {sandbox.ingress}/greet \\
  --header 'Host: greet.com' \\
  --header 'Content-Type: application/json' \\
  --data '{{
    "first_name": "Hitesh",
    "last_name": "Pattanayak"
}}'

Host greet.com is round_robin; pick-first.greet.com and lookaside.greet.com are the other gateways.
The quota namespace is `mynamespace` (kubectl describe quota -n mynamespace). Ctrl-C stops everything.
""",
        flush=True,
    )


def greet_once(ingress: str, host: str) -> str | None:
    body = json.dumps({"first_name": "Hitesh", "last_name": "Pattanayak"}).encode()
    request = urllib.request.Request(
        ingress + "/greet", data=body, headers={"Host": host, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, OSError):
        return None


def _ready(pod: dict[str, object]) -> bool:
    status = pod.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions or [])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _match(pattern: str, text: str) -> str:
    found = re.findall(pattern, text, re.M)
    return str(found[-1]) if found else ""


# The steps after `sandbox_up`, in order.
STEPS: list[Callable[[Sandbox], None]] = [
    apply_workloads,
    wait_greet_ready,
    start_dashboard,
    print_instructions,
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    parser.add_argument("--port", type=int, default=6443, help="API server port (0 picks a free one)")
    parser.add_argument("--pod-cidr", default="127.1.0.0/16")
    parser.add_argument("--service-cidr", default="127.2.0.0/16")
    args = parser.parse_args(argv)
    # SIGTERM stops the demo like Ctrl-C does (the sandbox runs in its own session and needs our `down`).
    signal.signal(signal.SIGTERM, _interrupted)
    extra = ("--port", str(args.port), "--pod-cidr", args.pod_cidr, "--service-cidr", args.service_cidr)
    sandbox = sandbox_up(args.state_dir.resolve(), extra_args=extra)
    try:
        for step in STEPS:
            step(sandbox)
        while sandbox.alive():
            time.sleep(0.5)
        print(
            f"the sandbox exited ({sandbox.process.returncode}); see {sandbox.state_dir / 'up.log'}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C must not cut the orderly stop short (pods would outlive the demo).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping the dashboard and the sandbox…", file=sys.stderr, flush=True)
        sandbox_down(sandbox)


if __name__ == "__main__":
    sys.exit(main())
