"""Kubernetes' quota refusals (FailedCreate event messages, 403 bodies) read back into numbers and words.

The two forms the ResourceQuota admission writes (apiserver/pkg/admission/plugin/resourcequota):
    exceeded quota: NAME, requested: r=q,r=q, used: r=q,r=q, limited: r=q,r=q
    failed quota: NAME: must specify r for: c1,c2; r for: c1
Anything around them (`Error creating: pods "x" is forbidden: `, `(combined from similar events): `) is
ignored; any other message (LimitRange min/max…) is kept verbatim with no parsed parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quantities import Quantity, QuantityError, parse_quantity

EXCEEDED = "exceeded"
MUST_SPECIFY = "must-specify"
OTHER = "other"

_EXCEEDED = re.compile(
    r"exceeded quota: (?P<quota>[^,]+), requested: (?P<requested>\S*), "
    r"used: (?P<used>\S*), limited: (?P<limited>\S*)"
)
_MUST_SPECIFY = re.compile(r"failed quota: (?P<quota>[^:]+): must specify (?P<missing>.+)$")


@dataclass(frozen=True)
class RefusedResource:
    resource: str
    requested: Quantity
    used: Quantity
    limited: Quantity

    @property
    def free(self) -> Quantity:
        left = self.limited - self.used
        return left if left.sign() > 0 else parse_quantity(0)

    @property
    def short(self) -> Quantity:
        """How much more the pod asks for than is free."""
        over = self.used + self.requested - self.limited
        return over if over.sign() > 0 else parse_quantity(0)


@dataclass(frozen=True)
class QuotaRefusal:
    kind: str  # EXCEEDED, MUST_SPECIFY or OTHER
    message: str  # verbatim
    quota: str = ""
    resources: tuple[RefusedResource, ...] = ()
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # resource → containers

    @property
    def plain(self) -> str:
        """One line for people: which resource ran out and by how much, or what the containers lack."""
        if self.kind == EXCEEDED:
            parts = [
                f"{r.resource} (each pod asks {r.requested}, {r.used} of {r.limited} already used, "
                f"{r.short} short)"
                for r in self.resources
            ]
            return f"Quota {self.quota} has run out of " + " and ".join(parts) + "."
        if self.kind == MUST_SPECIFY:
            by_containers: dict[tuple[str, ...], list[str]] = {}
            for resource, containers in self.missing.items():
                by_containers.setdefault(containers, []).append(resource)
            lacks = "; ".join(
                f"container{'s' if len(c) > 1 else ''} {', '.join(c)} lack{'' if len(c) > 1 else 's'} "
                f"{', '.join(r)}"
                for c, r in by_containers.items()
            )
            return (
                f"Quota {self.quota} tracks compute resources, so every container must state them: {lacks}. "
                "Set resources in the pod template, or add a LimitRange with defaults."
            )
        return ""


def _pairs(text: str) -> dict[str, Quantity]:
    out: dict[str, Quantity] = {}
    for pair in filter(None, text.split(",")):
        name, _, value = pair.partition("=")
        try:
            out[name] = parse_quantity(value)
        except QuantityError:
            continue
    return out


def refusal_parse(message: str) -> QuotaRefusal:
    """The parts of a quota refusal; kind OTHER (and the message kept) when it is not one."""
    if m := _EXCEEDED.search(message):
        requested, used, limited = (_pairs(m[k]) for k in ("requested", "used", "limited"))
        resources = tuple(
            RefusedResource(
                resource=name,
                requested=q,
                used=used.get(name, parse_quantity(0)),
                limited=limited.get(name, parse_quantity(0)),
            )
            for name, q in requested.items()
        )
        return QuotaRefusal(EXCEEDED, message, quota=m["quota"], resources=resources)
    if m := _MUST_SPECIFY.search(message):
        missing: dict[str, tuple[str, ...]] = {}
        for part in m["missing"].split("; "):
            resource, sep, containers = part.partition(" for: ")
            if sep:
                missing[resource.strip()] = tuple(c for c in containers.strip().split(",") if c)
        return QuotaRefusal(MUST_SPECIFY, message, quota=m["quota"].strip(), missing=missing)
    return QuotaRefusal(OTHER, message)
