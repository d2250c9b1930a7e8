"""`DIR/kubeconfig` and the bearer token it carries (`DIR/token`)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import yaml

NAME = "switchyard-sandbox"
USER = "sandbox-admin"


def ensure_token(state_dir: Path) -> str:
    """The API's bearer token, minted on first start and kept so kubeconfigs survive restarts."""
    path = state_dir / "token"
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


def write_kubeconfig(state_dir: Path, server_url: str, ca_cert: Path, token: str) -> Path:
    """Write the kubeconfig (cluster, user, context `switchyard-sandbox`, current-context set)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": NAME,
                "cluster": {
                    "server": server_url,
                    "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": USER, "user": {"token": token}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": USER, "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    }
    path = state_dir / "kubeconfig"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(config, fh, sort_keys=False)
    tmp.replace(path)
    return path
