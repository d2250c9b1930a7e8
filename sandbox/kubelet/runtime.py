"""Pods as local processes: one worker task per pod runs its init containers, supervises its
containers (restartPolicy, CrashLoopBackOff), runs probes, writes pod status and terminates gracefully.

Each container instance is a process in its own session (so the whole group can be signalled), with
stdout and stderr appended to the container's log file. Pids are recorded under
``DIR/pods/<uid>/pids`` so that a restarted kubelet can kill what a previous run left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.admission.defaults import qos_class
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store, Watch, now_rfc3339
from sandbox.hooks import SYSTEM, SandboxContext, pod_log_path
from sandbox.kubelet import images, logs, podenv, probes, volumes
from sandbox.kubelet.events import EventRecorder
from sandbox.kubelet.node import NODE_IP, NODE_NAME, machine_resources
from sandbox.network.ipam import AddressPool

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CRASHLOOP_BASE_S = 10.0
CRASHLOOP_MAX_S = 300.0
STOP_GRACE_S = 2.0  # how long `down` lets pod processes exit after SIGTERM
OUR_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
LISTEN_POLL_S = 0.025  # how often a started server's ports are checked until they accept connections
LISTEN_FAST_FOR_S = 10.0  # … for this long after the container started; then every LISTEN_POLL_SLOW_S
LISTEN_POLL_SLOW_S = 0.5


def process_start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/<pid>/stat): tells pids apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_stale_pod_processes(state_dir: Path) -> int:
    """Kill the process groups of pods a previous kubelet on `state_dir` left running — after a crash or a
    SIGKILL of `up`, pod processes (each in its own session) outlive it. Checked by pid and start time."""
    killed = 0
    for path in (state_dir / "pods").glob("*/pids/*.pid"):
        try:
            pid_text, _, started = path.read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            continue
        if started and process_start_time(pid) == started:
            signal_group(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed += 1
        path.unlink(missing_ok=True)
    return killed


async def port_accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether host:port accepts a TCP connection (a bare non-blocking connect, closed at once)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
        return True
    except (OSError, TimeoutError):
        return False
    finally:
        sock.close()


def exit_code(returncode: int) -> int:
    """A process killed by signal N reports 128+N, as container runtimes do."""
    return returncode if returncode >= 0 else 128 - returncode


@dataclass
class ContainerRecord:
    name: str
    spec: Obj
    init: bool
    restart_count: int = 0
    state: Obj = field(default_factory=dict)
    last_state: Obj = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    ever_ran: bool = False
    done: bool = False  # finished for good (no more restarts)
    proc: asyncio.subprocess.Process | None = None
    container_id: str = ""
    crash_streak: int = 0
    started_monotonic: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    pump: asyncio.Task[None] | None = None
    kill_reason: str = ""
    probe_factory: Any = None  # builds this instance's probe workers (kept for after a startup probe)
    output: asyncio.Event = field(default_factory=asyncio.Event)  # set when the instance writes output

    def status(self) -> Obj:
        image = str(self.spec.get("image") or "")
        out: Obj = {
            "name": self.name,
            "image": image,
            "imageID": f"{images.image_repository(image)}@switchyard",
            "ready": self.ready,
            "restartCount": self.restart_count,
            "started": self.started,
            # `state`/`last_state` are always replaced, never mutated in place: safe to share.
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            out["containerID"] = self.container_id
        if self.init:
            out.pop("started")
        return out


class PodWorker:
    def __init__(self, kubelet: Kubelet, pod: Obj) -> None:
        self.kubelet = kubelet
        self.pod = pod
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.name: str = meta["name"]
        self.namespace: str = meta.get("namespace") or "default"
        self.dir = volumes.pod_dir(kubelet.state_dir, self.uid)
        spec = pod.get("spec") or {}
        self.restart_policy = spec.get("restartPolicy") or "Always"
        stored = {c.get("name"): c for c in (pod.get("status") or {}).get("containerStatuses") or []}
        self.inits = [ContainerRecord(c["name"], c, True) for c in spec.get("initContainers") or []]
        self.mains = []
        for c in spec.get("containers") or []:
            rec = ContainerRecord(c["name"], c, False)
            previous = stored.get(c["name"])
            if previous:  # adopted after a kubelet restart: the old instance is gone
                rec.restart_count = int(previous.get("restartCount") or 0) + (
                    1 if "running" in (previous.get("state") or {}) else 0
                )
            self.mains.append(rec)
        for rec in self.inits + self.mains:
            rec.state = {
                "waiting": {
                    "reason": "PodInitializing" if self.inits and not rec.init else "ContainerCreating"
                }
            }
        self.ip: str = ""
        self.start_time: str = (pod.get("status") or {}).get("startTime") or ""
        self.adopted = bool(stored)
        self.sandbox_ready = False
        self.initialized = not self.inits
        self.failed_init = False
        self.finished = False
        self.terminating = False
        self.silent = False  # the kubelet is stopping: the stored status stays as it was
        self.dirs: dict[str, Path] = {}
        self.task: asyncio.Task[None] | None = None
        self.terminator: asyncio.Task[None] | None = None
        self._status_lock = asyncio.Lock()
        self._last_status: Obj | None = None
        self._transitions: dict[str, tuple[str, str]] = {}

    # -- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        kubelet = self.kubelet
        stored_ip = (self.pod.get("status") or {}).get("podIP") or ""
        self.ip = stored_ip if stored_ip and kubelet.pool.contains(stored_ip) else kubelet.pool.allocate()
        if not kubelet.pool.is_allocated(self.ip):
            kubelet.pool.reserve(self.ip)
        self.start_time = self.start_time or now_rfc3339()
        (self.dir / "pids").mkdir(parents=True, exist_ok=True)
        for attempt in range(1_000_000):
            try:
                self.dirs = volumes.prepare_volumes(kubelet.store, self.pod, self.dir)
                break
            except volumes.VolumeError as exc:
                if attempt == 0:
                    await self.event("FailedMount", str(exc), type_="Warning")
                await self.sync_status()
                await asyncio.sleep(min(2.0 * (attempt + 1), 30.0))
        self.sandbox_ready = True
        await self.sync_status()
        for rec in self.inits:
            if not await self.run_init(rec):
                self.failed_init = True
                self.finished = True
                await self.sync_status()
                return
        self.initialized = True
        for rec in self.mains:
            rec.state = {"waiting": {"reason": "ContainerCreating"}}
        await self.sync_status()
        await asyncio.gather(*(self.supervise(rec) for rec in self.mains))
        self.finished = True
        await self.sync_status()

    async def run_init(self, rec: ContainerRecord) -> bool:
        """Run an init container until it succeeds; False when the pod fails instead."""
        while True:
            code = await self.run_instance(rec)
            if self.terminating:
                return False
            if code == 0:
                rec.done = True
                rec.ready = True  # a completed init container reports ready, as in Kubernetes
                await self.sync_status()
                return True
            if self.restart_policy == "Never":
                rec.done = True
                return False
            await self.back_off(rec)

    async def supervise(self, rec: ContainerRecord) -> None:
        while True:
            code = await self.run_instance(rec)
            if self.terminating:
                return
            if not (self.restart_policy == "Always" or (self.restart_policy == "OnFailure" and code != 0)):
                rec.done = True
                await self.sync_status()
                return
            await self.back_off(rec)

    async def back_off(self, rec: ContainerRecord) -> None:
        kubelet = self.kubelet
        ran_for = time.monotonic() - rec.started_monotonic
        if ran_for > 2 * kubelet.crashloop_max_s:
            rec.crash_streak = 0  # ran long enough: the back-off starts over, as in the kubelet
        delay = (
            0.0
            if rec.crash_streak == 0
            else min(kubelet.crashloop_base_s * 2 ** (rec.crash_streak - 1), kubelet.crashloop_max_s)
        )
        rec.crash_streak += 1
        if delay > 0:
            rec.state = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {_duration(delay)} restarting failed container={rec.name} "
                    f"pod={self.name}_{self.namespace}({self.uid})",
                }
            }
            await self.sync_status()
            await self.event(
                "BackOff",
                f"Back-off restarting failed container {rec.name} in pod {self.name}_{self.namespace}({self.uid})",
                type_="Warning",
                container=rec.name,
            )
            await asyncio.sleep(delay)

    async def run_instance(self, rec: ContainerRecord) -> int:
        """Start one instance of a container and wait for it to exit; returns its exit code."""
        kubelet = self.kubelet
        if rec.ever_ran:
            rec.restart_count += 1
        try:
            env, program = await self.prepare(rec)
        except (podenv.ContainerConfigError, ValueError) as exc:
            rec.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
            await self.sync_status()
            await self.event("Failed", f"Error: {exc}", type_="Warning", container=rec.name)
            rec.started_monotonic = time.monotonic()
            rec.ever_ran = False
            return 1
        log_path = pod_log_path(kubelet.state_dir, self.namespace, self.name, rec.name)
        previous = pod_log_path(kubelet.state_dir, self.namespace, self.name, rec.name, previous=True)
        if rec.ever_ran or self.adopted:
            logs.rotate(log_path, previous)
        else:
            for stale in (log_path, previous):  # a former pod of the same name
                stale.unlink(missing_ok=True)
        image = str(rec.spec.get("image") or "")
        if not rec.ever_ran:
            await self.event(
                "Pulled", f'Container image "{image}" already present on machine', container=rec.name
            )
        started_at = now_rfc3339()
        rec.started_monotonic = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *program.argv,
                cwd=self.working_dir(rec),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            message = (
                f"failed to start container {rec.name!r}: exec: {program.argv[0]!r}: {exc.strerror or exc}"
            )
            finished = now_rfc3339()
            rec.ever_ran = True
            rec.last_state = {}
            rec.state = {
                "terminated": {
                    "exitCode": 128,
                    "reason": "StartError",
                    "message": message,
                    "startedAt": "1970-01-01T00:00:00Z",
                    "finishedAt": finished,
                }
            }
            await self.event("Failed", f"Error: {message}", type_="Warning", container=rec.name)
            await self.sync_status()
            return 128
        rec.proc = proc
        rec.container_id = f"switchyard://{self.uid[:8]}-{rec.name}-{proc.pid}"
        kubelet.record_pid(self.dir, rec.name, proc.pid)
        assert proc.stdout is not None
        rec.pump = asyncio.get_running_loop().create_task(
            logs.pump(proc.stdout, log_path, on_output=rec.output.set)
        )
        if rec.ever_ran:
            rec.last_state = (
                {"terminated": rec.state.get("terminated") or {}}
                if "terminated" in rec.state
                else rec.last_state
            )
        rec.ever_ran = True
        rec.state = {"running": {"startedAt": started_at}}
        rec.started = not rec.spec.get("startupProbe") and not rec.init
        rec.ready = False
        rec.kill_reason = ""
        await self.event("Created", f"Created container: {rec.name}", container=rec.name)
        await self.event("Started", f"Started container {rec.name}", container=rec.name)
        await self.sync_status()
        if not rec.init:
            self.start_probes(rec, program, env)
        try:
            returncode = await proc.wait()
        finally:
            for task in rec.tasks:
                task.cancel()
            rec.tasks = []
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(rec.pump), 2.0)
        signal_group(proc.pid, signal.SIGKILL)  # leftovers of the group die with the container
        kubelet.forget_pid(self.dir, rec.name)
        code = exit_code(returncode)
        rec.proc = None
        rec.ready = False
        rec.started = False
        terminated: Obj = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": started_at,
            "finishedAt": now_rfc3339(),
            "containerID": rec.container_id,
        }
        rec.state = {"terminated": terminated}
        await self.sync_status()
        return code

    async def prepare(self, rec: ContainerRecord) -> tuple[dict[str, str], images.Program]:
        kubelet = self.kubelet
        # self.pod is the store's shared object (read-only): copy only what changes.
        status = {**(self.pod.get("status") or {}), "podIP": self.ip, "podIPs": [{"ip": self.ip}]}
        status["hostIP"] = NODE_IP
        pod = {**self.pod, "status": status}
        declared = await podenv.container_env(kubelet.store, pod, rec.spec, kubelet.allocatable)
        command = [podenv.expand(str(a), declared) for a in rec.spec.get("command") or []] or None
        args = [podenv.expand(str(a), declared) for a in rec.spec.get("args") or []] or None
        mounts = volumes.mount_map(rec.spec, self.dirs)
        spec_volumes = {v.get("name"): v for v in (self.pod.get("spec") or {}).get("volumes") or []}
        program = images.program_for(
            rec.spec,
            pod_name=self.name,
            pod_ip=self.ip,
            mounts=mounts,
            document_root=images.document_root_for(rec.spec, spec_volumes, self.dirs),
            command=command,
            args=args,
            init=rec.init,
        )
        env = kubelet.base_env(self.name, self.dir)
        env.update(program.env)
        if program.kind == "greet":
            # These stand in for what a container gets from its own hostname and network namespace.
            env.update({"POD_NAME": self.name, "POD_NAMESPACE": self.namespace, "POD_IP": self.ip})
        env.update(declared)
        return env, program

    def working_dir(self, rec: ContainerRecord) -> Path:
        wd = rec.spec.get("workingDir")
        if wd:
            mapped = Path(images.map_paths(str(wd), volumes.mount_map(rec.spec, self.dirs)))
            if mapped.is_dir():
                return mapped
        return self.dir

    # -- probes -------------------------------------------------------------------------------------

    def start_probes(self, rec: ContainerRecord, program: images.Program, env: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        named = {p["name"]: int(p["containerPort"]) for p in rec.spec.get("ports") or [] if p.get("name")}
        target = probes.ProbeTarget(self.ip, named, env, self.dir, volumes.mount_map(rec.spec, self.dirs))

        def worker(kind: str, spec: Obj) -> probes.ProbeWorker:
            async def on_failure(message: str) -> None:
                await self.event(
                    "Unhealthy", f"{kind} probe failed: {message}", type_="Warning", container=rec.name
                )

            async def on_result(ok: bool, message: str) -> None:
                await self.probe_result(rec, kind, ok, program, env)

            return probes.ProbeWorker(kind, spec, target, on_result=on_result, on_failure=on_failure)

        rec.probe_factory = worker
        if rec.spec.get("startupProbe"):
            rec.tasks.append(loop.create_task(worker("Startup", rec.spec["startupProbe"]).run()))
        else:
            self.start_steady_probes(rec, program, env, worker)

    def start_steady_probes(
        self, rec: ContainerRecord, program: images.Program, env: dict[str, str], worker: Any
    ) -> None:
        loop = asyncio.get_running_loop()
        if rec.spec.get("livenessProbe"):
            rec.tasks.append(loop.create_task(worker("Liveness", rec.spec["livenessProbe"]).run()))
        if rec.spec.get("readinessProbe"):
            rec.tasks.append(loop.create_task(worker("Readiness", rec.spec["readinessProbe"]).run()))
        else:
            rec.tasks.append(loop.create_task(self.ready_when_listening(rec, program.ports)))
        rec.probe_factory = worker

    async def ready_when_listening(self, rec: ContainerRecord, ports: list[int]) -> None:
        """Without a readiness probe a container is ready once started — and, for the programs the
        kubelet knows to serve, once their ports accept connections (no endpoint before it listens).

        Checks run every LISTEN_POLL_S (LISTEN_POLL_SLOW_S once LISTEN_FAST_FOR_S have passed, so a
        port that never opens costs little) and at once whenever the container writes output (servers
        log when they listen), so Ready follows listening closely."""
        started = time.monotonic()
        for port in ports:
            while rec.proc is not None and rec.proc.returncode is None:
                rec.output.clear()
                if await port_accepts(self.ip, port):
                    break
                fast = time.monotonic() - started < LISTEN_FAST_FOR_S
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(rec.output.wait(), LISTEN_POLL_S if fast else LISTEN_POLL_SLOW_S)
        rec.ready = True
        await self.sync_status()

    async def probe_result(
        self, rec: ContainerRecord, kind: str, ok: bool, program: images.Program, env: dict[str, str]
    ) -> None:
        if kind == "Readiness":
            rec.ready = ok
            await self.sync_status()
        elif kind == "Startup" and ok:
            rec.started = True
            await self.sync_status()
            self.start_steady_probes(rec, program, env, rec.probe_factory)
        elif not ok:  # liveness or startup failure: restart the container
            await self.event(
                "Killing",
                f"Container {rec.name} failed {kind.lower()} probe, will be restarted",
                container=rec.name,
            )
            proc = rec.proc
            if proc is not None:
                asyncio.get_running_loop().create_task(self.stop_process(proc, self.grace_seconds()))

    # -- termination --------------------------------------------------------------------------------

    def grace_seconds(self) -> float:
        meta_grace = (self.pod.get("metadata") or {}).get("deletionGracePeriodSeconds")
        if meta_grace is not None:
            return float(meta_grace)
        return float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds") or 30)

    @staticmethod
    async def stop_process(proc: asyncio.subprocess.Process, grace: float) -> None:
        signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), max(grace, 0.0))
        except TimeoutError:
            signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()

    def request_termination(self) -> None:
        if self.terminator is None:
            self.terminator = asyncio.get_running_loop().create_task(
                self.terminate(), name=f"kubelet-terminate-{self.name}"
            )

    async def terminate(self) -> None:
        """Graceful deletion: SIGTERM, wait the grace period, SIGKILL, then remove the pod object."""
        self.terminating = True
        grace = self.grace_seconds()
        running = [
            rec for rec in self.inits + self.mains if rec.proc is not None and rec.proc.returncode is None
        ]
        for rec in running:
            await self.event("Killing", f"Stopping container {rec.name}", container=rec.name)
        if self.task is not None and not running:
            self.task.cancel()  # nothing running: waiting in a back-off or on a volume
        procs = [rec.proc for rec in running if rec.proc is not None]
        await asyncio.gather(*(self.stop_process(p, grace) for p in procs))
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.task, 5.0)
        for rec in self.inits + self.mains:
            if "terminated" not in rec.state and not rec.done:
                rec.state = (
                    {
                        "terminated": {
                            "exitCode": 137,
                            "reason": "ContainerStatusUnknown",
                            "message": "The container could not be located when the pod was terminated",
                            "finishedAt": now_rfc3339(),
                        }
                    }
                    if not rec.ever_ran
                    else rec.state
                )
            rec.ready = False
        self.finished = True
        await self.sync_status()
        with contextlib.suppress(APIError):
            await self.kubelet.store.delete(
                "pods", self.namespace, self.name, grace_period_seconds=0, preconditions={"uid": self.uid}
            )

    async def kill_now(self) -> None:
        """The pod object is gone: processes die at once (SIGKILL), the worker stops."""
        self.terminating = True
        for rec in self.inits + self.mains:
            if rec.proc is not None:
                signal_group(rec.proc.pid, signal.SIGKILL)
        for task in [self.task, self.terminator]:
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for rec in self.inits + self.mains:
            if rec.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    await rec.proc.wait()
            if rec.pump is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(rec.pump, 1.0)

    async def shutdown(self) -> None:
        """The kubelet stops (sandbox `down`): processes go, the pod object stays for the next start."""
        self.terminating = True
        self.silent = True
        procs = [r.proc for r in self.inits + self.mains if r.proc is not None and r.proc.returncode is None]
        await asyncio.gather(*(self.stop_process(p, STOP_GRACE_S) for p in procs))
        await self.kill_now()

    # -- status -------------------------------------------------------------------------------------

    async def event(
        self, reason: str, message: str, *, type_: str = "Normal", container: str | None = None
    ) -> None:
        await self.kubelet.events.pod_event(self.pod, reason, message, type_=type_, container=container)

    def phase(self) -> str:
        if self.failed_init:
            return "Failed"
        if not self.initialized:
            return "Pending"
        if self.finished or all(r.done for r in self.mains):
            codes = [(r.state.get("terminated") or {}).get("exitCode", 1) for r in self.mains]
            return "Succeeded" if all(c == 0 for c in codes) else "Failed"
        if any(not r.ever_ran for r in self.mains):
            return "Pending"
        return "Running"

    def _condition(self, type_: str, ok: bool, reason: str = "", message: str = "") -> Obj:
        status = "True" if ok else "False"
        previous = self._transitions.get(type_)
        if previous is None or previous[0] != status:
            self._transitions[type_] = (status, now_rfc3339())
        cond: Obj = {
            "type": type_,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": self._transitions[type_][1],
        }
        if not ok and reason:
            cond["reason"] = reason
            cond["message"] = message
        return cond

    def build_status(self) -> Obj:
        phase = self.phase()
        unready = [r.name for r in self.mains if not r.ready]
        incomplete = [r.name for r in self.inits if not r.done]
        terminal = phase in ("Succeeded", "Failed")
        ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
        ready_message = "" if terminal else f"containers with unready status: [{' '.join(unready)}]"
        init_reason = "PodCompleted" if terminal and self.initialized else "ContainersNotInitialized"
        conditions = [
            self._condition("PodReadyToStartContainers", self.sandbox_ready),
            self._condition(
                "Initialized",
                self.initialized,
                init_reason,
                "" if self.initialized else f"containers with incomplete status: [{' '.join(incomplete)}]",
            ),
            self._condition("Ready", not unready and not terminal, ready_reason, ready_message),
            self._condition("ContainersReady", not unready and not terminal, ready_reason, ready_message),
        ]
        status: Obj = {
            "phase": phase,
            "conditions": conditions,
            "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}],
            "startTime": self.start_time,
            "containerStatuses": [r.status() for r in self.mains],
            "qosClass": qos_class(self.pod.get("spec") or {}),
        }
        if self.ip:
            status["podIP"] = self.ip
            status["podIPs"] = [{"ip": self.ip}]
        if self.inits:
            status["initContainerStatuses"] = [r.status() for r in self.inits]
        return status

    async def sync_status(self) -> None:
        """Write the pod's status when it differs from what was last written."""
        async with self._status_lock:
            status = self.build_status()
            if self.silent or status == self._last_status:
                return

            def mutate(current: Obj) -> Obj:
                old = current.get("status") or {}
                if current["metadata"].get("uid") != self.uid:
                    raise APIError(409, "Conflict", "the pod was replaced")
                kept = [c for c in old.get("conditions") or [] if c.get("type") not in OUR_CONDITIONS]
                # `status` is freshly built and never mutated afterwards: the store may keep it.
                new = {**old, **status}
                new["conditions"] = new["conditions"] + kept
                current["status"] = new
                return current

            try:
                await self.kubelet.store.patch_entry(
                    "pods", self.namespace, self.name, mutate, subresource="status", user=SYSTEM
                )
                self._last_status = status
            except APIError as exc:
                log.debug("kubelet: status of %s/%s not written: %s", self.namespace, self.name, exc)


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m0s"
    if seconds >= 60:
        return f"{int(seconds // 60)}m{seconds % 60:g}s"
    return f"{seconds:g}s"


class Kubelet:
    """The node agent: follows pods bound to `sandbox` and keeps one `PodWorker` per pod."""

    def __init__(self) -> None:
        self.workers: dict[str, PodWorker] = {}
        self._store: Store | None = None
        self._watch: Watch | None = None
        self._task: asyncio.Task[None] | None = None
        self._cleanups: set[asyncio.Task[None]] = set()
        self.state_dir = Path(".")
        self.pool = AddressPool("127.1.0.0/16")
        self.crashloop_base_s = CRASHLOOP_BASE_S
        self.crashloop_max_s = CRASHLOOP_MAX_S
        self.allocatable = machine_resources()
        self._static_env: dict[str, str] = {}

    @property
    def store(self) -> Store:
        assert self._store is not None, "start() first"
        return self._store

    @property
    def events(self) -> EventRecorder:
        return self._events

    async def start(self, ctx: SandboxContext) -> None:
        self._store = ctx.store
        self._events = EventRecorder(ctx.store)
        ctx.store.graceful_pod_deletion = True
        config = ctx.config
        self.state_dir = config.state_dir
        self.pool = AddressPool(config.pod_cidr)
        self.crashloop_base_s = float(config.extra.get("crashloop_base_s", CRASHLOOP_BASE_S))
        self.crashloop_max_s = float(config.extra.get("crashloop_max_s", CRASHLOOP_MAX_S))
        self._static_env = self._cluster_env(ctx)
        self.kill_stale_processes()
        # No await between listing and subscribing: the watch resumes exactly after the listed version.
        rv = ctx.store.resource_version
        existing = [e.obj for e in ctx.store.entries("pods", predicate=self._bound)]
        self._watch = ctx.store.watch("pods", resource_version=str(rv), predicate=self._bound)
        for pod in existing:
            ip = (pod.get("status") or {}).get("podIP") or ""
            if ip and self.pool.contains(ip) and not self.pool.is_allocated(ip):
                self.pool.reserve(ip)  # pods come back with their IPs
        self._remove_orphaned_pod_dirs({(p["metadata"].get("uid") or "") for p in existing})
        for pod in existing:
            self.dispatch("ADDED", pod)
        self._task = asyncio.get_running_loop().create_task(self._follow(), name="kubelet-pods")

    @staticmethod
    def _bound(pod: Obj) -> bool:
        return (pod.get("spec") or {}).get("nodeName") == NODE_NAME

    def _cluster_env(self, ctx: SandboxContext) -> dict[str, str]:
        env: dict[str, str] = {}
        if ctx.server_url:
            url = urlsplit(ctx.server_url)
            env["KUBERNETES_SERVICE_HOST"] = url.hostname or ctx.config.host
            env["KUBERNETES_SERVICE_PORT"] = str(url.port or 443)
            env["KUBERNETES_SERVICE_PORT_HTTPS"] = env["KUBERNETES_SERVICE_PORT"]
        if ctx.kubeconfig is not None:
            env["KUBECONFIG"] = str(ctx.kubeconfig)
        self._ctx = ctx
        return env

    def base_env(self, pod_name: str, pod_dir: Path) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(pod_dir),
            "HOSTNAME": pod_name,
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(images.PROJECT_ROOT),
            "PYTHONUNBUFFERED": "1",
            **self._static_env,
        }
        dns = self._ctx.config.extra.get("dns_address") or (
            f"127.0.0.1:{self._ctx.config.dns_port}" if self._ctx.config.dns_port else ""
        )
        if dns:
            env["DNS_SERVER"] = str(dns)
        return env

    # -- pids ---------------------------------------------------------------------------------------

    def record_pid(self, pod_dir: Path, container: str, pid: int) -> None:
        path = pod_dir / "pids" / f"{container}.pid"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{pid} {process_start_time(pid) or ''}\n")

    def forget_pid(self, pod_dir: Path, container: str) -> None:
        (pod_dir / "pids" / f"{container}.pid").unlink(missing_ok=True)

    def kill_stale_processes(self) -> int:
        return kill_stale_pod_processes(self.state_dir)

    def _remove_orphaned_pod_dirs(self, live_uids: set[str]) -> None:
        root = self.state_dir / "pods"
        if root.is_dir():
            for child in root.iterdir():
                if child.name not in live_uids:
                    shutil.rmtree(child, ignore_errors=True)

    # -- pods ---------------------------------------------------------------------------------------

    async def _follow(self) -> None:
        while True:
            assert self._watch is not None
            async for ev in self._watch:
                self.dispatch(ev.type, ev.obj)
            # The watch was cut (too far behind): list again and reconcile, like an informer.
            await asyncio.sleep(0.2)
            rv = self.store.resource_version
            current = {
                e.obj["metadata"]["uid"]: e.obj for e in self.store.entries("pods", predicate=self._bound)
            }
            self._watch = self.store.watch("pods", resource_version=str(rv), predicate=self._bound)
            for uid in [u for u in self.workers if u not in current]:
                self._forget(uid)
            for pod in current.values():
                self.dispatch("MODIFIED", pod)

    def dispatch(self, type_: str, pod: Obj) -> None:
        uid = pod["metadata"].get("uid") or ""
        if type_ == "DELETED":
            self._forget(uid)
            return
        worker = self.workers.get(uid)
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        if worker is None:
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed") or deleting:
                if deleting:
                    self._spawn(self._delete_now(pod))
                return  # a finished pod from before: nothing to run
            # Workers keep the store's shared object (read-only, replaced on every event): no copies.
            worker = self.workers[uid] = PodWorker(self, pod)
            worker.task = asyncio.get_running_loop().create_task(
                self._run_worker(worker), name=f"kubelet-pod-{worker.name}"
            )
            return
        worker.pod = pod
        if deleting:
            worker.request_termination()

    async def _run_worker(self, worker: PodWorker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("kubelet: pod %s/%s failed", worker.namespace, worker.name)

    async def _delete_now(self, pod: Obj) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(APIError):
            await self.store.delete(
                "pods",
                meta.get("namespace"),
                meta["name"],
                grace_period_seconds=0,
                preconditions={"uid": meta.get("uid")},
            )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    def _forget(self, uid: str) -> None:
        worker = self.workers.pop(uid, None)
        if worker is None:
            return

        async def cleanup() -> None:
            await worker.kill_now()
            if worker.ip:
                self.pool.release(worker.ip)
            shutil.rmtree(worker.dir, ignore_errors=True)
            self.events.forget(uid)

        self._spawn(cleanup())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(w.shutdown() for w in self.workers.values()), return_exceptions=True)
        self.workers.clear()
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
