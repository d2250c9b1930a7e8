"""Validated input for rollout actions: which rollout, what the actor loaded, and the action's value."""

from __future__ import annotations

from django import forms

from rollouts.services import WEIGHT_STEPS


class ActionForm(forms.Form):
    cluster = forms.CharField(max_length=253)
    versions = forms.CharField(max_length=4000, required=False)  # Rollout.versions_token() as rendered


class SwitchForm(ActionForm):
    to = forms.CharField(max_length=253, required=False)
    scale_up = forms.BooleanField(required=False)


class WeightForm(ActionForm):
    weight = forms.FloatField(min_value=0, max_value=100, help_text=f"steps {WEIGHT_STEPS} or any 0-100")


class PlanForm(ActionForm):
    steps = forms.CharField(max_length=200, initial="10,25,50,75,100")
    interval_s = forms.FloatField(min_value=1, max_value=3600, initial=60)
    max_error_rate = forms.FloatField(min_value=0, max_value=1, initial=0.05)

    def clean_steps(self) -> list[int]:
        raw = str(self.cleaned_data["steps"])
        try:
            steps = [int(part) for part in raw.replace(" ", "").split(",") if part]
        except ValueError as exc:
            raise forms.ValidationError("steps are whole percentages separated by commas") from exc
        if not steps or any(not 0 <= s <= 100 for s in steps):
            raise forms.ValidationError("every step is 0-100")
        return steps


class DeleteRetiredForm(ActionForm):
    """The Deployment the confirmation named: the service deletes only that one, and only if it is retired."""

    deployment = forms.CharField(max_length=253)
