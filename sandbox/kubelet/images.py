"""Image → program: what a container of a given image runs as a local process.

Containers have no filesystem or network namespace here, so the kubelet emulates the two things images
rely on: a volume's mount path inside command text becomes the pod's directory for that volume, and a
wildcard listen address (``0.0.0.0``) becomes the pod's own loopback IP.

* The project image (repository ``switchyard`` or ``…/switchyard/greet``) with args
  ``server|gateway|lookaside …`` runs ``python -m greet.<arg> …`` with this interpreter.
* A container with a command (or args) of any other image runs that command for real (``/bin/sh -c``…).
* Anything else (nginx, httpd…) runs the built-in web server (`sandbox.kubelet.webserver`) on each TCP
  containerPort, serving the volume mounted at nginx's document root when there is one.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# The repository root, so pod processes can import `greet` and `sandbox` from any working directory.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
NGINX_DOCUMENT_ROOT = "/usr/share/nginx/html"
GREET_PROGRAMS: dict[str, tuple[str, str, int]] = {
    # arg: (module, env var holding the default --listen, default port)
    "server": ("greet.server", "GREET_LISTEN", 50051),
    "gateway": ("greet.gateway", "GATEWAY_LISTEN", 9091),
    "lookaside": ("greet.lookaside", "LB_LISTEN", 50055),
}
WILDCARDS = ("0.0.0.0", "[::]", "::")

Kind = Literal["greet", "web", "exec", "noop"]


@dataclass
class Program:
    argv: list[str]
    kind: Kind
    env: dict[str, str] = field(default_factory=dict)  # image defaults; the container's env wins
    ports: list[int] = field(default_factory=list)  # TCP ports the process serves on the pod IP


def image_repository(image: str) -> str:
    """``docker.io/switchyard/greet:0.1@sha256:…`` → ``docker.io/switchyard/greet``."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    return name


def is_project_image(image: str) -> bool:
    parts = image_repository(image).split("/")
    return parts[-1] == "switchyard" or parts[-2:] == ["switchyard", "greet"]


def image_basename(image: str) -> str:
    return image_repository(image).split("/")[-1]


def tcp_ports(container: dict[str, Any]) -> list[int]:
    out = []
    for p in container.get("ports") or []:
        if (
            isinstance(p, dict)
            and (p.get("protocol") or "TCP") == "TCP"
            and isinstance(p.get("containerPort"), int)
        ):
            out.append(int(p["containerPort"]))
    return out


def map_paths(text: str, mounts: dict[str, Path]) -> str:
    """Replace every volume mount path in `text` by the pod's directory for that volume."""
    for mount_path in sorted(mounts, key=len, reverse=True):
        if mount_path not in ("", "/"):
            text = text.replace(mount_path.rstrip("/"), str(mounts[mount_path]))
    return text


def _pod_ip_for_wildcards(text: str, pod_ip: str) -> str:
    for wildcard in WILDCARDS:
        if text == wildcard:
            return pod_ip
        if text.startswith(wildcard + ":"):
            return pod_ip + text[len(wildcard) :]
    return text


def program_for(
    container: dict[str, Any],
    *,
    pod_name: str,
    pod_ip: str,
    mounts: dict[str, Path],
    document_root: Path | None,
    command: list[str] | None,
    args: list[str] | None,
    init: bool = False,
) -> Program:
    """The process for `container`; `command`/`args` are already `$(VAR)`-expanded."""
    image = str(container.get("image") or "")
    ports = tcp_ports(container)
    if is_project_image(image):
        return _greet_program(pod_ip, ports, command, args)
    if command or args:
        argv = [map_paths(a, mounts) for a in (command or []) + (args or [])]
        if argv[0] == "sh":
            argv[0] = "/bin/sh"
        return Program(argv=argv, kind="exec")
    if init:
        # A web image's entrypoint has nothing to do before the main containers: it completes.
        return Program(argv=["/bin/true"], kind="noop")
    # -S: the server is stdlib-only, so `site` (the venv's .pth files) is start-up time for nothing.
    argv = [sys.executable, "-S", "-m", "sandbox.kubelet.webserver", "--host", pod_ip, "--name", pod_name]
    for port in ports:
        argv += ["--port", str(port)]
    if document_root is not None:
        argv += ["--root", str(document_root)]
    return Program(argv=argv, kind="web", ports=ports)


def _greet_program(
    pod_ip: str, ports: list[int], command: list[str] | None, args: list[str] | None
) -> Program:
    rest = [_pod_ip_for_wildcards(a, pod_ip) for a in (args or [])]
    if command:
        # e.g. ["python", "-m", "greet.server"]: the image's python is this interpreter.
        argv = [_pod_ip_for_wildcards(c, pod_ip) for c in command] + rest
        if os.path.basename(argv[0]).startswith("python"):
            argv[0] = sys.executable
        return Program(argv=argv, kind="exec", ports=ports)
    verb = rest[0] if rest else "server"
    if verb not in GREET_PROGRAMS:
        raise ValueError(f"unknown greet program {verb!r}: expected one of {', '.join(GREET_PROGRAMS)}")
    module, listen_env, default_port = GREET_PROGRAMS[verb]
    port = ports[0] if ports else default_port
    env = {listen_env: f"{pod_ip}:{port}"}
    return Program(
        argv=[sys.executable, "-m", module, *rest[1:]], kind="greet", env=env, ports=ports or [port]
    )


def document_root_for(
    container: dict[str, Any], volumes: dict[str, dict[str, Any]], dirs: dict[str, Path]
) -> Path | None:
    """The volume directory the built-in web server serves, if one is mounted at nginx's document root."""
    nginx = image_basename(str(container.get("image") or "")) == "nginx"
    for mount in container.get("volumeMounts") or []:
        if (mount.get("mountPath") or "").rstrip("/") != NGINX_DOCUMENT_ROOT:
            continue
        volume = volumes.get(mount.get("name") or "") or {}
        if ("emptyDir" in volume or nginx) and mount.get("name") in dirs:
            sub = mount.get("subPath") or ""
            return dirs[mount["name"]] / sub if sub else dirs[mount["name"]]
    return None
