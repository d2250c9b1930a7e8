"""Clusters the way kubectl finds them: kubeconfig contexts (several files in KUBECONFIG, merged, the
first file to set a name wins) and, inside a pod, the in-cluster service account."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

IN_CLUSTER = "in-cluster"
_SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True)
class Cluster:
    """One place to talk to: a kubeconfig context, or the in-cluster service account."""

    name: str
    context: str | None  # None for in-cluster
    server: str
    kubeconfig: str = ""  # paths joined with os.pathsep, as in $KUBECONFIG
    namespace: str = "default"
    current: bool = False

    def api_client(self) -> client.ApiClient:
        """A fresh client: the kubeconfig is read again so a rotated token or a moved server is picked up."""
        if self.context is None:
            cfg = client.Configuration()
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            return client.ApiClient(cfg)
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=self.kubeconfig, context=self.context
        )
        return api


def in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and _SA_TOKEN.exists()


def _existing(kubeconfig: str) -> str:
    paths = [p for p in kubeconfig.split(os.pathsep) if p and Path(p).expanduser().exists()]
    return os.pathsep.join(str(Path(p).expanduser()) for p in paths)


def _current_context(paths: str) -> str | None:
    """kubectl's rule: the first file that sets current-context wins (the Python client takes the last)."""
    for path in paths.split(os.pathsep):
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and data.get("current-context"):
            return str(data["current-context"])
    return None


def cluster_list(*, kubeconfig: str, allow: list[str] | None = None) -> list[Cluster]:
    """Every context in the (merged) kubeconfig, current context first, then in-cluster when present.

    `allow` keeps only the named contexts (SWITCHYARD_CONTEXTS); an empty list keeps all.
    """
    clusters: list[Cluster] = []
    paths = _existing(kubeconfig)
    if paths:
        try:
            contexts, _ = config.list_kube_config_contexts(config_file=paths)  # type: ignore[no-untyped-call]
        except ConfigException:
            contexts = []
        current_name = _current_context(paths)
        for ctx in contexts or []:
            name = str(ctx["name"])
            if allow and name not in allow:
                continue
            cfg = client.Configuration()
            try:
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=paths, context=name, client_configuration=cfg
                )
            except ConfigException:
                continue  # a context naming a missing cluster or user: kubectl would refuse it too
            clusters.append(
                Cluster(
                    name=name,
                    context=name,
                    server=str(cfg.host),
                    kubeconfig=paths,
                    namespace=str((ctx.get("context") or {}).get("namespace") or "default"),
                    current=name == current_name,
                )
            )
    if in_cluster_available() and (not allow or IN_CLUSTER in allow):
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        clusters.append(
            Cluster(name=IN_CLUSTER, context=None, server=f"https://{host}:{port}", current=not clusters)
        )
    clusters.sort(key=lambda c: not c.current)
    return clusters
