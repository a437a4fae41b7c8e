"""Factories for accounts and profiles. They write rows directly: tests of the services call
the services; these only set the scene."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from contributors.models import (
    ContributorProfile,
    ContributorStatusChange,
    Credential,
    Degree,
    LanguageSkill,
    User,
)

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
        if create:
            self.save()


class ProfileFactory(factory.django.DjangoModelFactory):
    """A profile with a complete application (not yet submitted unless `status` says so)."""

    class Meta:
        model = ContributorProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, roles=("contributor",))
    education_level = "master"
    years_experience = 5
    programming_languages = factory.LazyFunction(lambda: ["python"])
    expertise_areas = factory.LazyFunction(lambda: ["writing", "software"])
    country = "NL"
    time_zone = "Europe/Amsterdam"
    weekly_availability_hours = 15
    payout_email = factory.LazyAttribute(lambda profile: profile.user.email)
    application_submitted_at = factory.LazyAttribute(
        lambda profile: None if profile.status == "applicant" else timezone.now()
    )

    @factory.post_generation
    def with_lists(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create or extracted is False:
            return
        Degree.objects.create(profile=self, level="master", field="Linguistics", year=2015)
        LanguageSkill.objects.create(profile=self, language="en", proficiency="native")
        ContributorStatusChange.objects.create(
            profile=self, from_status="", to_status=self.status, actor=self.user, reason="Factory."
        )


class ContributorFactory(factory.Factory):
    """A contributor's user, with a profile; `status` and `verified` set the scene."""

    class Meta:
        model = User

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        status = kwargs.pop("status", "applicant")
        verified = kwargs.pop("verified", True)
        with_lists = kwargs.pop("with_lists", True)
        user = UserFactory(
            roles=("contributor",), email_verified_at=timezone.now() if verified else None, **kwargs
        )
        ProfileFactory(user=user, status=status, with_lists=with_lists)
        if status == "suspended":
            user.is_active = False
            user.save(update_fields=["is_active"])
        user.refresh_from_db()
        return user


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credential

    kind = "law"
    licence_number = factory.Sequence(lambda n: f"LIC-{n:05d}")
    jurisdiction = "New York"
