"""Plug-in points of the sandbox: admission plug-ins and long-running components.

Admission
    An object with ``async admit(op, resource, obj, old, user) -> None``. ``op`` is ``"CREATE"``,
    ``"UPDATE"`` or ``"DELETE"`` (Kubernetes' operation names); ``resource`` the plural (``"pods"``);
    ``obj`` the incoming object (``None`` on DELETE) which a *mutating* plug-in may change in place;
    ``old`` the stored object (``None`` on CREATE); ``user`` a ``UserInfo``. Reject by raising
    ``sandbox.apiserver.errors.APIError`` (e.g. ``errors.forbidden(...)`` for quota). Writes to the
    ``scale`` subresource are admitted as ``op="UPDATE"`` of the main resource with the resulting
    object; ``status`` writes (kubelet, controllers) skip admission, as Kubernetes' quota and
    LimitRanger ignore them.

    Register with ``store.add_admission(plugin)`` (mutating: runs after defaulting, before validation)
    or ``store.add_admission(plugin, validating=True)`` (runs after validation, e.g. ResourceQuota).
    Dry-run requests are admitted too (``user`` is the same); plug-ins must not keep state from them:
    ``store.dry_run_active`` is True while admitting a dry-run request.

Components
    An object with ``async start(ctx: SandboxContext) -> None`` (return once running; spawn tasks for
    loops) and ``async stop() -> None``. ``python -m sandbox up`` builds them, starts them in order after
    the API server is listening and stops them in reverse order on ``down``/SIGTERM/Ctrl-C.

    Issue 4 hangs its parts on ``up`` by providing a module ``sandbox.cluster`` with
    ``def build_components(ctx: SandboxContext) -> list[Component]``; it is called before the API
    server serves its first request, so it may also register admission plug-ins on ``ctx.store``.
    Controllers talk to ``ctx.store`` directly (see ``sandbox.apiserver.storage``), never over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sandbox.apiserver.storage import Store

Operation = Literal["CREATE", "UPDATE", "DELETE"]


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()


# The identity behind the kubeconfig's bearer token and behind in-process controllers.
ADMIN = UserInfo("sandbox-admin", ("system:masters", "system:authenticated"))
SYSTEM = UserInfo("system:serviceaccount:kube-system:sandbox-controllers", ("system:serviceaccounts",))


@runtime_checkable
class Admission(Protocol):
    async def admit(
        self,
        op: Operation,
        resource: str,
        obj: dict[str, Any] | None,
        old: dict[str, Any] | None,
        user: UserInfo,
    ) -> None: ...


@runtime_checkable
class Component(Protocol):
    async def start(self, ctx: SandboxContext) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class SandboxConfig:
    """What `up` was asked for; components read their ranges and ports here."""

    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 6443
    service_cidr: str = "127.2.0.0/16"
    pod_cidr: str = "127.1.0.0/16"
    node_port_range: tuple[int, int] = (30000, 32767)
    dns_port: int = 0
    ingress_port: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def logs_dir(self) -> Path:
        """Container logs: ``logs/<namespace>/<pod>/<container>.log`` (see ``pod_log_path``)."""
        return self.state_dir / "logs"


@dataclass
class SandboxContext:
    config: SandboxConfig
    store: Store
    # URL and kubeconfig of the running API server, for components that need a real client
    # (e.g. pods that run the lookaside's Kubernetes source).
    server_url: str = ""
    kubeconfig: Path | None = None
    token: str = ""
    ca_file: Path | None = None
    # Lines `up` prints after starting (e.g. "dns: 127.0.0.1:5353"); components append to it.
    announcements: list[str] = field(default_factory=list)


def pod_log_path(state_dir: Path, namespace: str, pod: str, container: str, previous: bool = False) -> Path:
    """Where the kubelet appends a container's output and `kubectl logs` reads it.

    Each line is ``<RFC3339Nano timestamp> <text>`` (the CRI log format without stream/tag), so that
    ``timestamps=true`` and ``sinceSeconds`` can be served. ``previous=True`` is the prior instance's log
    (``<container>.previous.log``), which the kubelet rotates into place on a restart.
    """
    suffix = ".previous.log" if previous else ".log"
    return state_dir / "logs" / namespace / pod / f"{container}{suffix}"
