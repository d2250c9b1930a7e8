"""Quotas fixtures: the dashboard's (sandbox hub, users, live daphne) and the seed's quota manifests.

Fixtures
    kube_sandbox, cluster, kube_namespace     from tests/kube/conftest.py (a real sandbox)
    sandbox_hub, viewer, operator, live_daphne from tests/dashboard/conftest.py
    mynamespace     (function) the same in the seed's own namespace, `mynamespace`
    seed_namespace  (function) a fresh namespace with the seed's two ResourceQuotas (resource_quota.yaml,
                    its namespace renamed), quota status filled in; deleted afterwards
    kubectl_seed    (function) kubectl_seed(file, namespace): apply one of deploy/quota's manifests there
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.dashboard.conftest import (  # noqa: F401  (fixtures)
    live_daphne,
    operator,
    sandbox_hub,
    viewer,
)
from tests.kube.conftest import cluster, eventually, kube_namespace, kube_sandbox  # noqa: F401  (fixtures)
from tests.sandbox.conftest import SandboxProcess

QUOTA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "quota"
SEED_NAMESPACE = "mynamespace"


def seed_manifest(file: str, namespace: str) -> str:
    """One of the seed's manifests with its namespace (mynamespace) replaced."""
    return (QUOTA_DIR / file).read_text().replace(SEED_NAMESPACE, namespace)


@pytest.fixture
def kubectl_seed(kube_sandbox: SandboxProcess) -> Callable[[str, str], None]:  # noqa: F811
    def apply(file: str, namespace: str) -> None:
        kube_sandbox.kubectl("apply", "-f", "-", input=seed_manifest(file, namespace))

    return apply


@pytest.fixture
def seed_namespace(kube_sandbox: SandboxProcess, kubectl_seed: Callable[[str, str], None]) -> Iterator[str]:  # noqa: F811
    yield from _seeded(kube_sandbox, kubectl_seed, f"q-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def mynamespace(kube_sandbox: SandboxProcess, kubectl_seed: Callable[[str, str], None]) -> Iterator[str]:  # noqa: F811
    """The seed's own namespace name, for the one test that replays the article as written."""
    yield from _seeded(kube_sandbox, kubectl_seed, SEED_NAMESPACE)


def _seeded(
    sandbox_process: SandboxProcess, kubectl_seed: Callable[[str, str], None], name: str
) -> Iterator[str]:
    kubectl_seed("resource_quota.yaml", name)

    def filled() -> bool:
        out = sandbox_process.kubectl(
            "get", "quota", "-n", name, "-o", "jsonpath={.items[*].status.used}"
        ).stdout
        return "requests.memory" in out and "configmaps" in out

    assert eventually(filled, timeout=20), "the quota status controller did not fill status.used"
    try:
        yield name
    finally:
        sandbox_process.kubectl(
            "delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False
        )
        if name == SEED_NAMESPACE:  # reused by name: wait until it is gone
            sandbox_process.kubectl("wait", "--for=delete", f"namespace/{name}", "--timeout=60s", check=False)
