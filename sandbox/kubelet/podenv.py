"""A container's environment as the kubelet builds it: ``envFrom``, then ``env`` (with ``valueFrom``
fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef) and ``$(VAR)`` expansion."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from typing import Any

from quantities import QuantityError, parse_quantity
from sandbox.apiserver.errors import APIError
from sandbox.apiserver.storage import Store

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_LABEL_REF = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ContainerConfigError(Exception):
    """The container cannot be configured yet (reason ``CreateContainerConfigError``)."""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: unknown references stay as written, ``$$`` escapes ``$``."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return _REF.sub(sub, text)


def field_value(pod: dict[str, Any], path: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        "status.podIP": status.get("podIP"),
        "status.hostIP": status.get("hostIP"),
        "status.podIPs": ",".join(p.get("ip", "") for p in status.get("podIPs") or []),
        "status.hostIPs": ",".join(p.get("ip", "") for p in status.get("hostIPs") or []),
    }
    if path in simple:
        return str(simple[path] or "")
    m = _LABEL_REF.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise ContainerConfigError(f'unsupported fieldPath: "{path}"')


def resource_value(
    container: dict[str, Any], ref: dict[str, Any], node_allocatable: Mapping[str, str]
) -> str:
    resource = ref.get("resource") or ""
    kind, _, name = resource.partition(".")
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(name)
    if raw is None:
        # Unset limits (and requests) read as the node's allocatable, as the kubelet does.
        raw = node_allocatable.get(name, "0")
    try:
        amount = parse_quantity(raw).amount
        divisor = parse_quantity(ref.get("divisor") or "1").amount
    except QuantityError as exc:
        raise ContainerConfigError(f"invalid quantity for {resource}: {exc}") from exc
    if divisor == 0:
        raise ContainerConfigError(f"divisor for {resource} must be non-zero")
    return str(max(math.ceil(amount / divisor), 1 if name == "cpu" and amount > 0 else 0))


async def _object_data(store: Store, kind: str, namespace: str, name: str) -> dict[str, str] | None:
    resource = "configmaps" if kind == "ConfigMap" else "secrets"
    try:
        obj = store.entry(resource, namespace, name).obj
    except APIError:
        return None
    if kind == "ConfigMap":
        data = {k: str(v) for k, v in (obj.get("data") or {}).items()}
        for k, v in (obj.get("binaryData") or {}).items():
            data[k] = base64.b64decode(v).decode(errors="replace")
        return data
    out = {k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.get("data") or {}).items()}
    out.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    return out


async def container_env(
    store: Store, pod: dict[str, Any], container: dict[str, Any], node_allocatable: Mapping[str, str]
) -> dict[str, str]:
    """The variables a container declares, resolved against the pod and the store."""
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if not ref:
                continue
            data = await _object_data(store, kind, namespace, ref.get("name") or "")
            if data is None:
                if ref.get("optional"):
                    continue
                raise ContainerConfigError(f'{kind.lower()} "{ref.get("name")}" not found')
            env.update({prefix + k: v for k, v in data.items()})
    for var in container.get("env") or []:
        name = var.get("name")
        if not name:
            continue
        if "value" in var or not var.get("valueFrom"):
            env[name] = expand(str(var.get("value") or ""), env)
            continue
        source = var["valueFrom"]
        if "fieldRef" in source:
            env[name] = field_value(pod, source["fieldRef"].get("fieldPath") or "")
        elif "resourceFieldRef" in source:
            env[name] = resource_value(container, source["resourceFieldRef"], node_allocatable)
        else:
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                ref = source.get(key)
                if not ref:
                    continue
                data = await _object_data(store, kind, namespace, ref.get("name") or "")
                if data is None or ref.get("key") not in data:
                    if ref.get("optional"):
                        break
                    if data is None:
                        raise ContainerConfigError(f'{kind.lower()} "{ref.get("name")}" not found')
                    raise ContainerConfigError(
                        f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}"
                    )
                env[name] = data[ref["key"]]
    return env
