"""Server-rendered pages: what a person sees, and that bad input is shown beside its field."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from contributors import services
from contributors.models import ContributorProfile, User
from tests.contributors.factories import PASSWORD, ContributorFactory

pytestmark = pytest.mark.django_db


def test_the_first_page_offers_sign_up_and_log_in(client) -> None:
    html = client.get("/").content.decode()
    assert 'href="/accounts/signup/"' in html
    assert 'href="/accounts/login/"' in html


def test_sign_up_page_logs_the_new_person_in_and_says_to_verify(
    client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("contributors:signup"),
            {
                "full_name": "Pia Page",
                "email": "pia@example.org",
                "password": "a-long-passphrase-42",
                "password_confirm": "a-long-passphrase-42",
            },
            follow=True,
        )
    html = response.content.decode()
    assert "We sent a verification link to pia@example.org" in html
    assert "Verify your e-mail address" in html
    assert len(mail.outbox) == 1


def test_sign_up_page_shows_a_taken_address_beside_the_field(client) -> None:
    ContributorFactory(email="taken@example.org")
    response = client.post(
        reverse("contributors:signup"),
        {
            "full_name": "Copy Cat",
            "email": "Taken@example.org",
            "password": "a-long-passphrase-42",
            "password_confirm": "a-long-passphrase-42",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "An account with this e-mail address already exists. Log in instead."
    ]
    assert User.objects.filter(email="taken@example.org").count() == 1


def test_sign_up_page_shows_differing_passwords(client) -> None:
    response = client.post(
        reverse("contributors:signup"),
        {
            "full_name": "A",
            "email": "a@example.org",
            "password": "a-long-passphrase-42",
            "password_confirm": "other",
        },
    )
    assert response.context["form"].errors["password_confirm"] == ["The two passwords differ."]


def test_log_in_page_tells_a_suspended_person_why(client) -> None:
    user = ContributorFactory(status="suspended")
    response = client.post(
        reverse("contributors:login"), {"email": user.email, "password": PASSWORD}
    )
    assert "This account is suspended" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_log_in_page_refuses_a_wrong_password(client) -> None:
    user = ContributorFactory()
    response = client.post(reverse("contributors:login"), {"email": user.email, "password": "nope"})
    assert "The e-mail address or password is not right." in response.content.decode()


def test_log_in_rotates_the_session_and_ignores_foreign_next_urls(client) -> None:
    user = ContributorFactory()
    client.get(reverse("contributors:login"))
    before = client.session.session_key
    response = client.post(
        reverse("contributors:login"),
        {"email": user.email, "password": PASSWORD, "next": "https://evil.example/steal"},
    )
    assert response["Location"] == "/"
    assert client.session.session_key != before


def test_log_out_is_a_post(client) -> None:
    client.force_login(ContributorFactory())
    assert client.get(reverse("contributors:logout")).status_code == 405
    client.post(reverse("contributors:logout"))
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("status", "verified", "submitted", "title"),
    [
        ("applicant", False, False, "Verify your e-mail address"),
        ("applicant", True, False, "Complete your application"),
        ("assessing", True, True, "Take the Starter Assessment"),
        ("not_approved", True, True, "Your application was not approved"),
    ],
)
def test_home_shows_the_next_step(
    client, status: str, verified: bool, submitted: bool, title: str
) -> None:
    user = ContributorFactory(status=status, verified=verified)
    if not submitted:
        ContributorProfile.objects.filter(user=user).update(application_submitted_at=None)
    client.force_login(user)
    response = client.get("/")
    assert response.context["step"].title == title


def test_a_suspended_persons_session_no_longer_logs_them_in(client) -> None:
    user = ContributorFactory(status="suspended")
    client.force_login(user)
    response = client.get("/")
    assert "step" not in response.context
    assert "Log in" in response.content.decode()
    assert client.get(reverse("contributors:application"))["Location"].startswith(
        "/accounts/login/"
    )


def test_verification_link_page_verifies_and_says_so(client) -> None:
    user = ContributorFactory(verified=False)
    client.force_login(user)
    token = services.email_verification_token_make(user=user)
    response = client.get(reverse("contributors:verify_email", args=[token]), follow=True)
    assert f"Thank you: {user.email} is verified." in response.content.decode()
    assert response.context["step"].key == "complete_application"


def test_a_broken_verification_link_page_explains(client) -> None:
    response = client.get(reverse("contributors:verify_email", args=["garbage"]))
    assert response.status_code == 400
    assert "This verification link is not valid." in response.content.decode()


def _application_post(**overrides: str) -> dict[str, str]:
    data = {
        "full_name": "Form Filler",
        "education_level": "bachelor",
        "years_experience": "3",
        "expertise_areas": ["writing"],
        "programming_languages": [],
        "country": "FR",
        "time_zone": "Europe/Paris",
        "weekly_availability_hours": "12",
        "payout_email": "pay@example.org",
        "degrees-TOTAL_FORMS": "1",
        "degrees-INITIAL_FORMS": "0",
        "degrees-0-level": "bachelor",
        "degrees-0-field": "History",
        "degrees-0-institution": "",
        "degrees-0-year": "2019",
        "credentials-TOTAL_FORMS": "1",
        "credentials-INITIAL_FORMS": "0",
        "languages-TOTAL_FORMS": "1",
        "languages-INITIAL_FORMS": "0",
        "languages-0-language": "fr",
        "languages-0-proficiency": "native",
        "action": "submit",
    }
    data.update(overrides)
    return data


def _blank(user: User) -> None:
    profile = ContributorProfile.objects.get(user=user)
    profile.degrees.all().delete()
    profile.languages.all().delete()
    ContributorProfile.objects.filter(pk=profile.pk).update(education_level="", payout_email="")


def test_application_page_submits_a_complete_form(client) -> None:
    user = ContributorFactory()
    _blank(user)
    client.force_login(user)
    response = client.post(reverse("contributors:application"), _application_post(), follow=True)
    assert "Your application is submitted." in response.content.decode()
    profile = ContributorProfile.objects.get(user=user)
    assert (profile.status, profile.education_level, profile.payout_email) == (
        "assessing",
        "bachelor",
        "pay@example.org",
    )
    assert list(profile.degrees.values_list("field", flat=True)) == ["History"]


def test_application_page_shows_bad_fields_beside_them_and_saves_nothing(client) -> None:
    user = ContributorFactory()
    _blank(user)
    client.force_login(user)
    response = client.post(
        reverse("contributors:application"),
        _application_post(weekly_availability_hours="500", **{"degrees-0-year": "1700"}),
    )
    assert response.status_code == 200
    forms = response.context["forms"]
    assert forms.profile.errors["weekly_availability_hours"] == [
        "Ensure this value is less than or equal to 80."
    ]
    assert forms.formsets["degrees"].forms[0].errors["year"] == [
        "Ensure this value is greater than or equal to 1940."
    ]
    profile = ContributorProfile.objects.get(user=user)
    assert (profile.status, profile.education_level, profile.degrees.count()) == (
        "applicant",
        "",
        0,
    )


def test_application_page_refuses_to_submit_unverified_and_keeps_nothing(client) -> None:
    user = ContributorFactory(verified=False)
    _blank(user)
    client.force_login(user)
    response = client.post(reverse("contributors:application"), _application_post())
    assert (
        "Verify your e-mail address before submitting your application" in response.content.decode()
    )
    profile = ContributorProfile.objects.get(user=user)
    assert (profile.status, profile.education_level) == ("applicant", "")


def test_application_page_shows_a_language_listed_twice_on_its_row(client) -> None:
    user = ContributorFactory()
    _blank(user)
    client.force_login(user)
    data = _application_post(
        **{
            "languages-TOTAL_FORMS": "2",
            "languages-1-language": "fr",
            "languages-1-proficiency": "fluent",
        }
    )
    response = client.post(reverse("contributors:application"), data)
    assert response.context["forms"].formsets["languages"].forms[1].errors["language"] == [
        "Already listed in row 1."
    ]


def test_application_page_saves_a_draft_without_submitting(client) -> None:
    user = ContributorFactory()
    _blank(user)
    client.force_login(user)
    client.post(
        reverse("contributors:application"), _application_post(action="save", payout_email="")
    )
    profile = ContributorProfile.objects.get(user=user)
    assert (profile.status, profile.education_level, profile.payout_email) == (
        "applicant",
        "bachelor",
        "",
    )


def test_profile_page_shows_details_and_history(client) -> None:
    user = ContributorFactory(status="assessing")
    client.force_login(user)
    html = client.get(reverse("contributors:profile")).content.decode()
    assert "Linguistics" in html
    assert "English (Native)" in html
    assert "Status history" in html


def test_password_reset_by_mail_lets_the_person_log_in_with_the_new_password(client) -> None:
    user = ContributorFactory()
    client.post(reverse("contributors:password_reset"), {"email": user.email.upper()})
    assert len(mail.outbox) == 1
    link = re.search(
        r"http://testserver(/accounts/password-reset/\S+/)", mail.outbox[0].body
    ).group(1)
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-passphrase-7", "new_password2": "brand-new-passphrase-7"},
    )
    assert (
        services.user_authenticate(
            request=None, email=user.email, password="brand-new-passphrase-7"
        )
        == user
    )
