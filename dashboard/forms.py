from __future__ import annotations

from typing import Any

from django import forms

from dashboard.probe.engine import MAX_RATE, MIN_RATE, ProbeTarget


class ScaleForm(forms.Form):
    cluster = forms.CharField(max_length=253)
    namespace = forms.CharField(max_length=63)
    name = forms.CharField(max_length=253)
    replicas = forms.IntegerField(min_value=0, max_value=1000)


class ProbeStartForm(forms.Form):
    """A probe target (see ``ProbeTarget``) and a rate; ``clean`` builds the target or says what is wrong."""

    kind = forms.ChoiceField(choices=[("grpc", "gRPC"), ("gateway", "Gateway (HTTP)")])
    balancing = forms.ChoiceField(
        choices=[(m, m) for m in ("pick_first", "round_robin", "lookaside")], required=False
    )
    url = forms.CharField(max_length=500, required=False)
    address = forms.CharField(max_length=300, required=False)
    dns_server = forms.CharField(max_length=300, required=False)
    lookaside = forms.CharField(max_length=300, required=False)
    lookaside_variant = forms.ChoiceField(
        choices=[("watch", "watch"), ("resolve", "resolve")], required=False
    )
    service = forms.CharField(max_length=253, required=False)
    namespace = forms.CharField(max_length=63, required=False)
    rate = forms.FloatField(min_value=MIN_RATE, max_value=MAX_RATE)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.errors:
            return data
        fields = {
            name: data.get(name) or ""
            for name in ("url", "address", "dns_server", "lookaside", "service", "namespace")
        }
        try:
            data["target"] = ProbeTarget(
                kind=data["kind"],
                balancing=data.get("balancing") or "pick_first",
                lookaside_variant=data.get("lookaside_variant") or "watch",
                **{k: v.strip() for k, v in fields.items()},
            )
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        return data


class ProbeRateForm(forms.Form):
    key = forms.CharField(max_length=1000)
    rate = forms.FloatField(min_value=MIN_RATE, max_value=MAX_RATE)


class ProbeKeyForm(forms.Form):
    key = forms.CharField(max_length=1000)
