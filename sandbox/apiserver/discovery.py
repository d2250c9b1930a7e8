"""Discovery documents: aggregated (apidiscovery.k8s.io/v2) and the legacy per-group-version lists.

kubectl 1.32 reads the aggregated form from `/api` and `/apis` only when the response's Content-Type is
exactly `AGGREGATED_CONTENT_TYPE`; the official Python client reads the legacy forms.
"""

from __future__ import annotations

from typing import Any

from sandbox.apiserver import resources
from sandbox.apiserver.resources import ResourceType

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

_SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "finalize": ["update"],
}


def wants_aggregated(accept: str) -> bool:
    return "as=APIGroupDiscoveryList" in accept and "apidiscovery.k8s.io" in accept


def _sub_kind(rt: ResourceType, sub: str) -> dict[str, str]:
    if sub == "scale":
        return {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    if sub == "log":
        return {"group": "", "version": "v1", "kind": "Pod"}
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    if rt.subresources:
        out["subresources"] = [
            {"subresource": sub, "responseKind": _sub_kind(rt, sub), "verbs": _SUBRESOURCE_VERBS[sub]}
            for sub in rt.subresources
        ]
    return out


def _group_name(group: str) -> dict[str, Any]:
    return {"name": group} if group else {}


def aggregated(core: bool) -> dict[str, Any]:
    """`/api` (core=True) or `/apis` as an APIGroupDiscoveryList."""
    items = []
    for group, version in resources.group_versions():
        if (group == "") != core:
            continue
        items.append(
            {
                "metadata": _group_name(group),
                "versions": [
                    {
                        "version": version,
                        "resources": [
                            _aggregated_resource(rt) for rt in resources.in_group_version(group, version)
                        ],
                        "freshness": "Current",
                    }
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group(group: str) -> dict[str, Any]:
    versions = [
        {"groupVersion": f"{g}/{v}", "version": v} for g, v in resources.group_versions() if g == group
    ]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def api_group_list() -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    for group, _version in resources.group_versions():
        if group and all(g["name"] != group for g in groups):
            g = api_group(group)
            del g["kind"], g["apiVersion"]
            groups.append(g)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(group: str, version: str) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for rt in resources.in_group_version(group, version):
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        out.append(entry)
        for sub in rt.subresources:
            kind = _sub_kind(rt, sub)
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind["kind"],
                "verbs": _SUBRESOURCE_VERBS[sub],
            }
            if kind["group"] != rt.group:
                sub_entry["group"], sub_entry["version"] = kind["group"], kind["version"]
            out.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}
