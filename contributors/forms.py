"""Page forms: shape and field checks only; services decide and write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.http import QueryDict

from contributors import choices
from contributors.models import ContributorProfile, Credential, Degree, LanguageSkill
from contributors.services.application import NESTED, PROFILE_FIELDS


class SignUpForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="E-mail address", max_length=254)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=128,
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label="Repeat the password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=128,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_confirm") != data.get("password"):
            self.add_error("password_confirm", "The two passwords differ.")
        return data


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True})
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}), max_length=128
    )


class ProfileForm(forms.ModelForm):
    full_name = forms.CharField(label="Full name", max_length=200)
    programming_languages = forms.MultipleChoiceField(
        choices=list(choices.PROGRAMMING_LANGUAGES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Programming languages you work in",
    )
    expertise_areas = forms.MultipleChoiceField(
        choices=list(choices.EXPERTISE_AREAS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Areas of expertise",
    )
    time_zone = forms.ChoiceField(required=False, label="Time zone")

    class Meta:
        model = ContributorProfile
        fields = ("full_name", *PROFILE_FIELDS)
        help_texts = {
            "years_experience": "Paid work in your field, in whole years.",
            "weekly_availability_hours": "Hours a week you expect to work, 1 to 80.",
            "payout_email": "Where payouts are sent; it can differ from your log-in address.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", "---------")] + [
            (zone, zone.replace("_", " ")) for zone in choices.time_zones()
        ]


class DegreeForm(forms.ModelForm):
    class Meta:
        model = Degree
        fields = ("level", "field", "institution", "year")


class CredentialForm(forms.ModelForm):
    class Meta:
        model = Credential
        fields = ("kind", "licence_number", "jurisdiction")
        labels = {"licence_number": "Licence number"}
        help_texts = {"jurisdiction": ""}
        widgets = {"jurisdiction": forms.TextInput(attrs={"placeholder": "e.g. New York, DE"})}


class LanguageForm(forms.ModelForm):
    language = forms.ChoiceField()

    class Meta:
        model = LanguageSkill
        fields = ("language", "proficiency")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", "---------"), *choices.spoken_languages().items()]


NESTED_FORMS: dict[str, type[forms.ModelForm]] = {
    "degrees": DegreeForm,
    "credentials": CredentialForm,
    "languages": LanguageForm,
}
NESTED_FIELDS = {name: form._meta.fields for name, form in NESTED_FORMS.items()}


class ApplicationForms:
    """The application page: the profile form and one formset per list, validated together."""

    def __init__(self, *, profile: ContributorProfile, data: QueryDict | None = None) -> None:
        initial = {field: getattr(profile, field) for field in PROFILE_FIELDS}
        initial["full_name"] = profile.user.full_name
        initial["country"] = profile.country.code or ""
        self.profile = ProfileForm(data=data, initial=initial)
        self.formsets: dict[str, forms.BaseFormSet] = {}
        for name, form_class in NESTED_FORMS.items():
            rows = [
                {field: getattr(row, field) for field in NESTED_FIELDS[name]}
                for row in getattr(profile, name).all()
            ]
            formset_class = forms.formset_factory(
                form_class, extra=0 if rows else 1, can_delete=True, max_num=30, validate_max=True
            )
            self.formsets[name] = formset_class(data=data, initial=rows, prefix=name)
        self.general_errors: list[str] = []
        self.section_errors: dict[str, list[str]] = {}

    def is_valid(self) -> bool:
        results = [self.profile.is_valid()] + [fs.is_valid() for fs in self.formsets.values()]
        return all(results)

    def _kept_forms(self, name: str) -> list[forms.Form]:
        formset = self.formsets[name]
        return [
            form
            for form in formset.forms
            if form.has_changed() and not (formset.can_delete and formset._should_delete_form(form))
        ]

    def cleaned_data(self) -> dict[str, Any]:
        """The whole application as the profile_update service takes it."""
        data: dict[str, Any] = dict(self.profile.cleaned_data)
        data["country"] = data.get("country") or ""
        for name in NESTED:
            data[name] = [
                {field: form.cleaned_data.get(field) for field in NESTED_FIELDS[name]}
                for form in self._kept_forms(name)
            ]
        return data

    def labels(self, names: Mapping[str, object]) -> list[str]:
        """Human labels for field names, e.g. for the list of what is still missing."""
        sections = {"degrees": "degrees", "credentials": "licences", "languages": "languages"}
        return [
            str(self.profile.fields[name].label).lower()
            if name in self.profile.fields
            else sections.get(name, name)
            for name in names
        ]

    def apply_errors(self, fields: Mapping[str, list[str]]) -> None:
        """Put a service's field errors (dotted paths) beside the fields they name."""
        for path, messages in fields.items():
            name, _, rest = path.partition(".")
            if name in NESTED:
                index, _, field = rest.partition(".")
                kept = self._kept_forms(name)
                if index.isdigit() and int(index) < len(kept) and field in NESTED_FIELDS[name]:
                    for message in messages:
                        kept[int(index)].add_error(field, message)
                else:
                    self.section_errors.setdefault(name, []).extend(messages)
            elif name in self.profile.fields:
                for message in messages:
                    self.profile.add_error(name, message)
            else:
                self.general_errors.extend(messages)
