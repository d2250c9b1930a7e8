"""The sandbox's node agent: the Node `sandbox`, a single-node scheduler and pods as local processes.

Imports are lazy: every generic pod runs ``python -m sandbox.kubelet.webserver``, which imports this
package first, and the web server is stdlib-only — it must not pay for the runtime, probes (grpc),
asyncio and the API server's storage at every pod start.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import …`: the web server must not pay for importing typing
if TYPE_CHECKING:
    from typing import Any

    from sandbox.hooks import Component, SandboxContext
    from sandbox.kubelet.node import NodeAgent
    from sandbox.kubelet.runtime import Kubelet
    from sandbox.kubelet.scheduler import NodeBinding, Scheduler

_LAZY = {
    "Kubelet": "sandbox.kubelet.runtime",
    "NodeAgent": "sandbox.kubelet.node",
    "NodeBinding": "sandbox.kubelet.scheduler",
    "Scheduler": "sandbox.kubelet.scheduler",
}


def kubelet_components(ctx: SandboxContext) -> list[Component]:
    """Node, scheduler and kubelet, in start order; registers the pod-binding admission plug-in."""
    from sandbox.kubelet.node import NodeAgent
    from sandbox.kubelet.runtime import Kubelet
    from sandbox.kubelet.scheduler import NodeBinding, Scheduler

    ctx.store.add_admission(NodeBinding())
    return [NodeAgent(), Scheduler(), Kubelet()]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Kubelet", "NodeAgent", "NodeBinding", "Scheduler", "kubelet_components"]
