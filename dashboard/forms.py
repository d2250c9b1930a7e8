from __future__ import annotations

from django import forms


class ScaleForm(forms.Form):
    cluster = forms.CharField(max_length=253)
    namespace = forms.CharField(max_length=63)
    name = forms.CharField(max_length=253)
    replicas = forms.IntegerField(min_value=0, max_value=1000)
