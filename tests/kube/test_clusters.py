from __future__ import annotations

import os
from pathlib import Path

import yaml

from kube.clusters import cluster_list


def _kubeconfig(path: Path, contexts: dict[str, str], current: str | None) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": c, "cluster": {"server": server}} for c, server in contexts.items()],
        "users": [{"name": f"{c}-user", "user": {"token": "t"}} for c in contexts],
        "contexts": [
            {"name": c, "context": {"cluster": c, "user": f"{c}-user", "namespace": f"{c}-ns"}}
            for c in contexts
        ],
    }
    if current:
        config["current-context"] = current
    path.write_text(yaml.safe_dump(config))
    return path


def test_contexts_from_several_files_current_first(tmp_path: Path) -> None:
    first = _kubeconfig(
        tmp_path / "a", {"prod": "https://127.0.0.1:6443", "staging": "https://127.0.0.1:7443"}, "staging"
    )
    # kubectl: the first file to set a name wins, so the second file's "prod" and current-context are ignored.
    second = _kubeconfig(
        tmp_path / "b", {"prod": "https://127.0.0.9:1", "dev": "https://127.0.0.1:8443"}, "dev"
    )
    missing = tmp_path / "missing"
    clusters = cluster_list(kubeconfig=os.pathsep.join(map(str, (first, missing, second))))
    assert [c.name for c in clusters] == ["staging", "prod", "dev"]
    assert clusters[0].current and not clusters[1].current
    by_name = {c.name: c for c in clusters}
    assert by_name["prod"].server == "https://127.0.0.1:6443"
    assert by_name["dev"].namespace == "dev-ns"


def test_allow_list_and_missing_file(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "a", {"one": "https://127.0.0.1:1", "two": "https://127.0.0.1:2"}, "one")
    assert [c.name for c in cluster_list(kubeconfig=str(path), allow=["two"])] == ["two"]
    assert cluster_list(kubeconfig=str(tmp_path / "nothing-here")) == []
