"""The sandbox's node agent: the Node `sandbox`, a single-node scheduler and pods as local processes."""

from __future__ import annotations

from sandbox.hooks import Component, SandboxContext
from sandbox.kubelet.node import NodeAgent
from sandbox.kubelet.runtime import Kubelet
from sandbox.kubelet.scheduler import NodeBinding, Scheduler


def kubelet_components(ctx: SandboxContext) -> list[Component]:
    """Node, scheduler and kubelet, in start order; registers the pod-binding admission plug-in."""
    ctx.store.add_admission(NodeBinding())
    return [NodeAgent(), Scheduler(), Kubelet()]


__all__ = ["Kubelet", "NodeAgent", "NodeBinding", "Scheduler", "kubelet_components"]
