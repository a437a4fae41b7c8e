"""The application: all-or-nothing updates, completeness, submission."""

import pytest

from common.errors import InvalidInput, PermissionDenied
from contributors import services
from contributors.errors import AccountSuspended, ApplicationIncomplete, EmailNotVerified
from contributors.models import ContributorProfile, Degree, LanguageSkill
from tests.contributors.factories import ContributorFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "full_name": "Grace Hopper",
    "education_level": "doctorate",
    "years_experience": 12,
    "programming_languages": ["python", "cpp"],
    "expertise_areas": ["mathematics", "software"],
    "country": "US",
    "time_zone": "America/New_York",
    "weekly_availability_hours": 10,
    "payout_email": "grace@pay.example.org",
    "degrees": [
        {"level": "doctorate", "field": "Mathematics", "institution": "Yale", "year": 1984}
    ],
    "credentials": [{"kind": "law", "licence_number": "NY-123", "jurisdiction": "New York"}],
    "languages": [
        {"language": "en", "proficiency": "native"},
        {"language": "fr", "proficiency": "fluent"},
    ],
}


def empty_applicant(verified: bool = True):
    user = ContributorFactory(verified=verified, with_lists=False)
    ContributorProfile.objects.filter(user=user).update(
        education_level="",
        years_experience=None,
        programming_languages=[],
        expertise_areas=[],
        country="",
        time_zone="",
        weekly_availability_hours=None,
        payout_email="",
    )
    user.profile.refresh_from_db()
    return user


def test_update_stores_fields_and_replaces_lists() -> None:
    user = empty_applicant()

    services.profile_update(profile_id=user.profile.pk, actor=user, data=GOOD)

    profile = ContributorProfile.objects.get(pk=user.profile.pk)
    assert (profile.user.full_name, profile.country.code, profile.years_experience) == (
        "Grace Hopper",
        "US",
        12,
    )
    assert list(profile.degrees.values_list("field", flat=True)) == ["Mathematics"]
    assert list(profile.credentials.values_list("licence_number", flat=True)) == ["NY-123"]
    assert list(profile.languages.values_list("language", "proficiency")) == [
        ("en", "native"),
        ("fr", "fluent"),
    ]


def test_update_with_one_bad_nested_field_saves_nothing() -> None:
    user = empty_applicant()
    bad = {**GOOD, "degrees": [GOOD["degrees"][0], {"level": "master", "field": "", "year": 1800}]}

    with pytest.raises(InvalidInput) as caught:
        services.profile_update(profile_id=user.profile.pk, actor=user, data=bad)

    assert set(caught.value.fields) == {"degrees.1.field", "degrees.1.year"}
    profile = ContributorProfile.objects.get(pk=user.profile.pk)
    assert (profile.education_level, profile.user.full_name) == ("", user.full_name)
    assert Degree.objects.filter(profile=profile).count() == 0
    assert LanguageSkill.objects.filter(profile=profile).count() == 0


def test_update_names_each_bad_profile_field() -> None:
    user = empty_applicant()
    bad = {
        **GOOD,
        "time_zone": "Mars/Olympus",
        "weekly_availability_hours": 0,
        "programming_languages": ["python", "cobol"],
        "country": "XX",
    }
    with pytest.raises(InvalidInput) as caught:
        services.profile_update(profile_id=user.profile.pk, actor=user, data=bad)
    assert set(caught.value.fields) == {
        "time_zone",
        "weekly_availability_hours",
        "programming_languages",
        "country",
    }
    assert caught.value.fields["programming_languages"] == ["Unknown: cobol."]


def test_a_language_listed_twice_is_refused_by_row() -> None:
    user = empty_applicant()
    bad = {
        **GOOD,
        "languages": [
            {"language": "en", "proficiency": "native"},
            {"language": "en", "proficiency": "fluent"},
        ],
    }
    with pytest.raises(InvalidInput) as caught:
        services.profile_update(profile_id=user.profile.pk, actor=user, data=bad)
    assert caught.value.fields == {"languages.1.language": ["Already listed in row 1."]}


def test_nobody_else_may_update_a_profile() -> None:
    user = empty_applicant()
    other = ContributorFactory()
    with pytest.raises(PermissionDenied):
        services.profile_update(
            profile_id=user.profile.pk, actor=other, data={"full_name": "Mallory"}
        )
    user.refresh_from_db()
    assert user.full_name != "Mallory"


def test_a_suspended_contributor_cannot_change_their_profile() -> None:
    user = ContributorFactory(status="suspended")
    with pytest.raises(AccountSuspended):
        services.profile_update(profile_id=user.profile.pk, actor=user, data={"full_name": "New"})


def test_missing_fields_lists_what_submission_needs() -> None:
    user = empty_applicant()
    missing = services.application_missing_fields(profile=user.profile)
    assert set(missing) == {
        "education_level",
        "years_experience",
        "country",
        "time_zone",
        "weekly_availability_hours",
        "payout_email",
        "expertise_areas",
        "languages",
    }


def test_a_degree_is_needed_when_the_level_names_one() -> None:
    user = empty_applicant()
    data = {**GOOD, "degrees": []}
    services.profile_update(profile_id=user.profile.pk, actor=user, data=data)
    profile = ContributorProfile.objects.get(pk=user.profile.pk)
    assert services.application_missing_fields(profile=profile) == {
        "degrees": ["List your degree and its field."]
    }


def test_submitting_moves_the_applicant_to_assessing() -> None:
    user = empty_applicant()
    services.profile_update(profile_id=user.profile.pk, actor=user, data=GOOD)

    profile = services.application_submit(profile_id=user.profile.pk, actor=user)

    assert profile.status == "assessing"
    assert profile.application_submitted_at is not None
    change = profile.status_changes.latest("created_at")
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        "applicant",
        "assessing",
        user,
        "Application submitted.",
    )


def test_submitting_twice_submits_once() -> None:
    user = empty_applicant()
    services.profile_update(profile_id=user.profile.pk, actor=user, data=GOOD)
    first = services.application_submit(profile_id=user.profile.pk, actor=user)
    second = services.application_submit(profile_id=user.profile.pk, actor=user)
    assert first.application_submitted_at == second.application_submitted_at
    assert first.status_changes.filter(to_status="assessing").count() == 1


def test_an_unverified_address_cannot_submit() -> None:
    user = empty_applicant(verified=False)
    services.profile_update(profile_id=user.profile.pk, actor=user, data=GOOD)
    with pytest.raises(EmailNotVerified):
        services.application_submit(profile_id=user.profile.pk, actor=user)
    user.profile.refresh_from_db()
    assert (user.profile.status, user.profile.application_submitted_at) == ("applicant", None)


def test_an_incomplete_application_cannot_be_submitted() -> None:
    user = empty_applicant()
    with pytest.raises(ApplicationIncomplete) as caught:
        services.application_submit(profile_id=user.profile.pk, actor=user)
    assert "languages" in caught.value.fields
    user.profile.refresh_from_db()
    assert user.profile.status == "applicant"


def test_save_and_submit_keeps_nothing_when_submission_fails() -> None:
    user = empty_applicant(verified=False)

    with pytest.raises(EmailNotVerified):
        services.application_save(profile_id=user.profile.pk, actor=user, data=GOOD, submit=True)

    profile = ContributorProfile.objects.get(pk=user.profile.pk)
    assert (profile.education_level, profile.status) == ("", "applicant")
    assert profile.languages.count() == 0


def test_only_the_applicant_submits() -> None:
    user = empty_applicant()
    services.profile_update(profile_id=user.profile.pk, actor=user, data=GOOD)
    with pytest.raises(PermissionDenied):
        services.application_submit(profile_id=user.profile.pk, actor=ContributorFactory())
