"""What `python -m sandbox up` runs besides the API server: the parts of a single-node cluster.

Called before the API server's first request, so it also registers admission: LimitRanger (defaults,
then checks) and ResourceQuota, in Kubernetes' order. Components start in list order: the network
first (pods get the DNS address in their env), then the kubelet, then the controllers.
"""

from __future__ import annotations

from sandbox.admission.quota import register_admission
from sandbox.controllers.deployment import workload_controllers
from sandbox.controllers.namespace import cluster_controllers
from sandbox.hooks import Component, SandboxContext
from sandbox.kubelet import kubelet_components
from sandbox.network.component import network_components


def build_components(ctx: SandboxContext) -> list[Component]:
    register_admission(ctx.store)
    return [
        *network_components(ctx),
        *kubelet_components(ctx),
        *workload_controllers(ctx),
        *cluster_controllers(ctx),
    ]
