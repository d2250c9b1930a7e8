"""Filters that print the way kubectl prints: ages as `5s`, `3m`, `2h`, `4d`; label maps as `k=v,k=v`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from django import template

register = template.Library()


def human_duration(seconds: float) -> str:
    """kubectl's short ages (HumanDuration): 42s, 5m, 3h, 4d, 2y (coarser than kubectl, same units)."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 3600 * 2:
        return f"{s // 60}m"
    if s < 86400 * 2:
        return f"{s // 3600}h"
    if s < 86400 * 365 * 2:
        return f"{s // 86400}d"
    return f"{s // (86400 * 365)}y"


@register.filter
def age(value: datetime | None) -> str:
    if value is None:
        return "<unknown>"
    return human_duration((datetime.now(UTC) - value).total_seconds())


@register.filter
def seconds(value: float | None) -> str:
    return "never" if value is None else human_duration(value)


@register.filter
def selector(value: Mapping[str, str] | None) -> str:
    if not value:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
