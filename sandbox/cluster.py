"""What `python -m sandbox up` runs besides the API server: the parts of a single-node cluster.

Order matters: admission plug-ins are registered before the first request; the network comes up
before the kubelet (pods get the DNS address in their env); controllers last.
"""

from __future__ import annotations

from sandbox.controllers.deployment import workload_controllers
from sandbox.hooks import Component, SandboxContext
from sandbox.kubelet import kubelet_components
from sandbox.network.component import network_components


def build_components(ctx: SandboxContext) -> list[Component]:
    return [*network_components(ctx), *kubelet_components(ctx), *workload_controllers(ctx)]
