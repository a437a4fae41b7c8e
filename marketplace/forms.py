"""Page forms of the marketplace: shape and field checks only."""

from __future__ import annotations

from django import forms

from contributors.choices import spoken_languages
from marketplace.models import Project, Tier


class DashboardFilterForm(forms.Form):
    tier = forms.ChoiceField(required=False, choices=[("", "Any tier"), *Tier.choices])
    language = forms.ChoiceField(required=False)
    pay_model = forms.ChoiceField(
        required=False, choices=[("", "Any pay"), *Project.PayModel.choices]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["language"].choices = [("", "Any language"), *spoken_languages().items()]


class ManualTimeForm(forms.Form):
    started_at = forms.DateTimeField(
        label="Started",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ended_at = forms.DateTimeField(
        label="Ended",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label="Why was it not tracked?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
    )
