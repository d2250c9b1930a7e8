"""The LimitRange editor's form: everything is checked here before anything is sent to the cluster."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from kube.types import LimitRangeInfo
from quantities import Quantity, QuantityError, parse_quantity
from quotas.services import limitrange_spec_dict

RESOURCES = ("cpu", "memory")
# (form prefix, LimitRange key, label) in the order of the spec's constraint chain.
KEYS = (
    ("min", "min", "min"),
    ("default_request", "defaultRequest", "defaultRequest"),
    ("default", "default", "default"),
    ("max", "max", "max"),
    ("ratio", "maxLimitRequestRatio", "maxLimitRequestRatio"),
)
# min ≤ defaultRequest ≤ default ≤ max: (lower, upper, the field that carries the error).
ORDER = (
    ("min", "default_request", "default_request"),
    ("min", "default", "default"),
    ("default_request", "default", "default_request"),
    ("default_request", "max", "default_request"),
    ("default", "max", "default"),
    ("min", "max", "min"),
)
_LABELS = {prefix: label for prefix, _, label in KEYS}
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

PRESETS: dict[str, dict[str, str]] = {
    # The seed's limit_range.yaml.
    "limits-quota": {
        "name": "limits-quota",
        "type": "Container",
        "default_cpu": "200m",
        "default_memory": "512Mi",
        "default_request_cpu": "100m",
        "default_request_memory": "256Mi",
    },
}


def field_name(prefix: str, resource: str) -> str:
    return f"{prefix}_{resource}"


class LimitRangeForm(forms.Form):  # Django ships no types here
    cluster = forms.CharField(widget=forms.HiddenInput)
    namespace = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(max_length=253, initial="limits-quota")
    type = forms.ChoiceField(choices=[("Container", "Container"), ("Pod", "Pod")], initial="Container")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for prefix, _, label in KEYS:
            for resource in RESOURCES:
                self.fields[field_name(prefix, resource)] = forms.CharField(
                    required=False,
                    max_length=64,
                    label=f"{label} {resource}",
                    widget=forms.TextInput(attrs={"placeholder": "—", "autocomplete": "off"}),
                )

    def rows(self) -> list[tuple[str, list[Any]]]:
        """(label, [bound field per resource]) for the template's table."""
        return [(label, [self[field_name(p, r)] for r in RESOURCES]) for p, _, label in KEYS]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not _DNS1123_SUBDOMAIN.match(name):
            raise forms.ValidationError(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character"
            )
        return name

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        parsed: dict[str, Quantity] = {}
        for prefix, _, label in KEYS:
            for resource in RESOURCES:
                name = field_name(prefix, resource)
                text = str(data.get(name) or "").strip()
                data[name] = text
                if not text:
                    continue
                try:
                    q = parse_quantity(text)
                except QuantityError as exc:
                    self.add_error(name, f"{label} {resource}: {text!r} is not a quantity: {exc}")
                    continue
                if q.sign() < 0:
                    self.add_error(name, f"{label} {resource}: must be greater than or equal to 0")
                    continue
                parsed[name] = q
        kind = data.get("type")
        if kind == "Pod":
            for prefix in ("default", "default_request"):
                for resource in RESOURCES:
                    if data.get(field_name(prefix, resource)):
                        self.add_error(
                            field_name(prefix, resource),
                            f"{_LABELS[prefix]} may not be specified when `type` is 'Pod'",
                        )
        for resource in RESOURCES:
            for lower, upper, where in ORDER:
                a, b = parsed.get(field_name(lower, resource)), parsed.get(field_name(upper, resource))
                if a is not None and b is not None and a > b:
                    self.add_error(
                        field_name(where, resource),
                        f"{_LABELS[lower]} {resource} {a} must be ≤ {_LABELS[upper]} {resource} {b} "
                        f"(min ≤ defaultRequest ≤ default ≤ max)",
                    )
            ratio = parsed.get(field_name("ratio", resource))
            if ratio is not None and ratio < parse_quantity(1):
                self.add_error(
                    field_name("ratio", resource),
                    f"maxLimitRequestRatio {resource}: ratio {ratio} is less than 1",
                )
        if not self.errors and not parsed:
            self.add_error(None, "Set at least one value.")
        return data

    def spec_item(self) -> dict[str, Any]:
        """The one `spec.limits` item the form describes (valid forms only)."""
        data = self.cleaned_data
        item: dict[str, Any] = {"type": data["type"]}
        for prefix, key, _ in KEYS:
            values = {r: data[field_name(prefix, r)] for r in RESOURCES if data.get(field_name(prefix, r))}
            if values:
                item[key] = values
        return item

    def spec(self, existing: LimitRangeInfo | None = None) -> dict[str, Any]:
        """The LimitRange spec to apply: this item replaces the existing item of the same type, others stay."""
        item = self.spec_item()
        limits: list[dict[str, Any]] = []
        if existing is not None:
            limits = [i for i in limitrange_spec_dict(existing)["limits"] if i.get("type") != item["type"]]
        return {"limits": [*limits, item]}


def initial_from_limitrange(lr: LimitRangeInfo, kind: str = "Container") -> dict[str, str]:
    """Form values to edit an existing LimitRange's item of one type."""
    initial = {"name": lr.ref.name, "type": kind}
    for item in lr.limits:
        if item.type != kind:
            continue
        for prefix, values in (
            ("min", item.min),
            ("default_request", item.default_request),
            ("default", item.default),
            ("max", item.max),
            ("ratio", item.max_limit_request_ratio),
        ):
            for resource in RESOURCES:
                if resource in values:
                    initial[field_name(prefix, resource)] = values[resource]
    return initial
