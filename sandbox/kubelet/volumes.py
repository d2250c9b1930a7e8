"""Pod volumes as directories under ``DIR/pods/<uid>/volumes/<name>``.

``emptyDir`` is a directory that lives as long as the pod; ``configMap`` and ``secret`` volumes are
materialized as one file per key (or per ``items`` entry); ``hostPath`` is the host path itself. Other
volume types get an empty directory so that mounts resolve.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store


class VolumeError(Exception):
    """A volume cannot be set up yet (Kubernetes' ``FailedMount``)."""


def pod_dir(state_dir: Path, uid: str) -> Path:
    return state_dir / "pods" / uid


def _write_items(target: Path, data: dict[str, bytes], items: list[dict[str, Any]] | None, mode: int) -> None:
    target.mkdir(parents=True, exist_ok=True)
    chosen = [(i["key"], i.get("path") or i["key"]) for i in items or [] if i.get("key") in data]
    if not items:
        chosen = [(k, k) for k in data]
    for key, rel in chosen:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[key])
        path.chmod(mode)


def _source_data(store: Store, resource: str, namespace: str, name: str) -> dict[str, bytes] | None:
    try:
        obj = store.entry(resource, namespace, name).obj
    except APIError:
        return None
    if resource == "configmaps":
        out = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
        out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        return out
    return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}


def prepare_volumes(store: Store, pod: dict[str, Any], root: Path) -> dict[str, Path]:
    """Create (or refresh) every volume of `pod` under `root`; returns volume name → host directory."""
    namespace = pod["metadata"].get("namespace") or "default"
    dirs: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume.get("name") or ""
        target = root / "volumes" / name
        if "hostPath" in volume:
            host = Path(volume["hostPath"].get("path") or "/")
            if volume["hostPath"].get("type") in ("DirectoryOrCreate",):
                host.mkdir(parents=True, exist_ok=True)
            dirs[name] = host
            continue
        for key, resource, ref_name in (
            ("configMap", "configmaps", "name"),
            ("secret", "secrets", "secretName"),
        ):
            source = volume.get(key)
            if source is None:
                continue
            data = _source_data(store, resource, namespace, source.get(ref_name) or "")
            if data is None:
                if not source.get("optional"):
                    kind = "configmap" if key == "configMap" else "secret"
                    raise VolumeError(
                        f'MountVolume.SetUp failed for volume "{name}" : {kind} "{source.get(ref_name)}" not found'
                    )
                data = {}
            if target.exists():
                shutil.rmtree(target)
            _write_items(target, data, source.get("items"), int(source.get("defaultMode") or 0o644))
            break
        else:
            target.mkdir(parents=True, exist_ok=True)
        dirs[name] = target
    return dirs


def mount_map(container: dict[str, Any], dirs: dict[str, Path]) -> dict[str, Path]:
    """A container's mount path → host path (``subPath`` honoured)."""
    out: dict[str, Path] = {}
    for mount in container.get("volumeMounts") or []:
        base = dirs.get(mount.get("name") or "")
        if base is None or not mount.get("mountPath"):
            continue
        sub = mount.get("subPath") or ""
        out[str(mount["mountPath"])] = base / sub if sub else base
    return out
