"""Shapes of the contributors API. Shape and field checks only: services do the writing."""

from __future__ import annotations

from typing import Any

from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from contributors import choices
from contributors.models import (
    ContributorProfile,
    ContributorStatusChange,
    Credential,
    Degree,
    LanguageSkill,
)
from contributors.services.application import PROFILE_FIELDS
from contributors.validators import validate_spoken_language, validate_time_zone


class SignUpInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, max_length=128
    )
    full_name = serializers.CharField(max_length=200)


class TokenCreateInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, max_length=128
    )


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class EmailVerifyInput(serializers.Serializer):
    token = serializers.CharField(max_length=1000)


class NextStepOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
    url = serializers.CharField(allow_blank=True)
    action = serializers.CharField(allow_blank=True)


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    email_verified = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    profile_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    next_step = NextStepOutput()


class DegreeInput(serializers.ModelSerializer):
    class Meta:
        model = Degree
        fields = ("level", "field", "institution", "year")


class CredentialInput(serializers.ModelSerializer):
    class Meta:
        model = Credential
        fields = ("kind", "licence_number", "jurisdiction")


class LanguageSkillInput(serializers.ModelSerializer):
    language = serializers.CharField(max_length=10, validators=[validate_spoken_language])

    class Meta:
        model = LanguageSkill
        fields = ("language", "proficiency")


class ProfileUpdateInput(serializers.Serializer):
    """The application's fields.

    On PATCH, fields left out stay as they are; a list given replaces the stored one.
    """

    full_name = serializers.CharField(max_length=200)
    education_level = serializers.ChoiceField(
        choices=choices.EducationLevel.choices, allow_blank=True
    )
    years_experience = serializers.IntegerField(min_value=0, max_value=70, allow_null=True)
    programming_languages = serializers.ListField(
        child=serializers.ChoiceField(choices=list(choices.PROGRAMMING_LANGUAGES.items())),
        max_length=len(choices.PROGRAMMING_LANGUAGES),
    )
    expertise_areas = serializers.ListField(
        child=serializers.ChoiceField(choices=list(choices.EXPERTISE_AREAS.items())),
        max_length=len(choices.EXPERTISE_AREAS),
    )
    country = CountryField(allow_blank=True)
    time_zone = serializers.CharField(
        max_length=64, allow_blank=True, validators=[validate_time_zone]
    )
    weekly_availability_hours = serializers.IntegerField(min_value=1, max_value=80, allow_null=True)
    payout_email = serializers.EmailField(allow_blank=True, max_length=254)
    degrees = DegreeInput(many=True, max_length=20)
    credentials = CredentialInput(many=True, max_length=20)
    languages = LanguageSkillInput(many=True, max_length=30)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        if "country" in values:
            values["country"] = values["country"] or ""
        return values


class DegreeOutput(serializers.ModelSerializer):
    class Meta:
        model = Degree
        fields = ("id", "level", "field", "institution", "year")


class CredentialOutput(serializers.ModelSerializer):
    class Meta:
        model = Credential
        fields = ("id", "kind", "licence_number", "jurisdiction")


class LanguageSkillOutput(serializers.ModelSerializer):
    class Meta:
        model = LanguageSkill
        fields = ("id", "language", "proficiency")


class ProfileOutput(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    email_verified = serializers.BooleanField(source="user.is_email_verified")
    country = serializers.CharField(source="country.code", allow_blank=True)
    degrees = DegreeOutput(many=True)
    credentials = CredentialOutput(many=True)
    languages = LanguageSkillOutput(many=True)
    # Declared rather than derived: DRF drops `allow_blank` from read-only model fields, and the
    # schema would then promise a level and an address that an unfinished profile lacks ("").
    education_level = serializers.ChoiceField(
        choices=choices.EducationLevel.choices, allow_blank=True, read_only=True
    )
    payout_email = serializers.CharField(
        read_only=True, help_text="Where payouts go: an e-mail address, or empty until given."
    )

    class Meta:
        model = ContributorProfile
        fields = (
            "id",
            "email",
            "full_name",
            "email_verified",
            "status",
            "status_changed_at",
            "application_submitted_at",
            *PROFILE_FIELDS,
            "degrees",
            "credentials",
            "languages",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class StatusChangeOutput(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ContributorStatusChange
        fields = ("from_status", "to_status", "actor", "reason", "created_at")

    def get_actor(self, change: ContributorStatusChange) -> str:
        if change.actor is None:
            return "system"
        if change.actor_id == change.profile.user_id:
            return "contributor"
        return "staff"


class ApplicationOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ContributorProfile.Status.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    email_verified = serializers.BooleanField()
    missing = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="What is still needed before submitting, by field.",
    )
    can_submit = serializers.BooleanField()


class StatusChangeInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=[("suspend", "Suspend"), ("reinstate", "Reinstate")])
    reason = serializers.CharField(max_length=2000)
