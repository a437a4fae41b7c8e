"""The contributors API: answers, errors in the one shape, and who may see what."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory

from common.api.authentication import TokenAuthentication
from contributors.models import ContributorProfile, User
from tests.conftest import api_for
from tests.contributors.factories import PASSWORD, ContributorFactory

pytestmark = pytest.mark.django_db


def test_sign_up_answers_201_with_the_next_step(api_client) -> None:
    response = api_client.post(
        reverse("auth-signup"),
        {"email": "New@Example.org", "password": "a-long-passphrase-42", "full_name": "New Person"},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["status"], body["email_verified"], body["roles"]) == (
        "new@example.org",
        "applicant",
        False,
        ["contributor"],
    )
    assert body["next_step"]["key"] == "verify_email"


def test_sign_up_with_a_taken_address_names_the_field(api_client) -> None:
    ContributorFactory(email="taken@example.org")
    response = api_client.post(
        reverse("auth-signup"),
        {"email": "TAKEN@example.org", "password": "a-long-passphrase-42", "full_name": "Copy"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
    assert list(response.json()["fields"]) == ["email"]


def test_sign_up_with_bad_fields_answers_each(api_client) -> None:
    response = api_client.post(
        reverse("auth-signup"), {"email": "nope", "password": "", "full_name": ""}
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"email", "password", "full_name"}
    assert User.objects.count() == 0


def test_sign_up_with_a_weak_password_answers_the_validator(api_client) -> None:
    response = api_client.post(
        reverse("auth-signup"),
        {"email": "weak@example.org", "password": "12345678", "full_name": "Weak"},
    )
    assert response.status_code == 400
    assert "This password is entirely numeric." in response.json()["fields"]["password"]


def test_a_token_is_issued_for_a_right_password(api_client) -> None:
    user = ContributorFactory()
    response = api_client.post(reverse("auth-token"), {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}


def test_a_wrong_password_gets_no_token(api_client) -> None:
    user = ContributorFactory()
    response = api_client.post(reverse("auth-token"), {"email": user.email, "password": "wrong"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")


def test_a_suspended_account_gets_a_clear_refusal(api_client) -> None:
    user = ContributorFactory(status="suspended")
    response = api_client.post(reverse("auth-token"), {"email": user.email, "password": PASSWORD})
    assert (response.status_code, response.json()["code"]) == (403, "account_suspended")
    assert "suspended" in response.json()["detail"]


def test_a_suspended_accounts_token_stops_working(api_client, staff_user) -> None:
    from contributors import services

    user = ContributorFactory(status="active")
    token = Token.objects.create(user=user)
    services.contributor_suspend(
        profile_id=user.profile.pk, actor=staff_user, reason="Fraud check."
    )

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api_client.get(reverse("me"))
    assert response.status_code == 401


def test_anonymous_calls_are_401_in_the_one_shape(api_client) -> None:
    response = api_client.get(reverse("me"))
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "fields": {},
    }


def test_me_describes_the_caller() -> None:
    user = ContributorFactory(status="assessing")
    body = api_for(user).get(reverse("me")).json()
    assert (body["id"], body["email"], body["status"], body["profile_id"]) == (
        user.pk,
        user.email,
        "assessing",
        user.profile.pk,
    )


def test_profile_patch_with_bad_fields_names_them_and_changes_nothing() -> None:
    user = ContributorFactory()
    before = ContributorProfile.objects.get(user=user)
    response = api_for(user).patch(
        reverse("me-profile"),
        {
            "years_experience": 99,
            "time_zone": "Nowhere/Land",
            "languages": [
                {"language": "en", "proficiency": "native"},
                {"language": "zz", "proficiency": "bad"},
            ],
            "full_name": "Changed Name",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {
        "years_experience",
        "time_zone",
        "languages.1.language",
        "languages.1.proficiency",
    }
    after = ContributorProfile.objects.get(user=user)
    assert (after.years_experience, after.time_zone, after.user.full_name) == (
        before.years_experience,
        before.time_zone,
        before.user.full_name,
    )
    assert list(after.languages.values_list("language", flat=True)) == ["en"]


def test_profile_patch_changes_only_what_is_given() -> None:
    user = ContributorFactory()
    response = api_for(user).patch(
        reverse("me-profile"), {"weekly_availability_hours": 30}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["weekly_availability_hours"] == 30
    assert response.json()["languages"][0]["language"] == "en"


def test_profile_put_needs_every_field() -> None:
    user = ContributorFactory()
    response = api_for(user).put(reverse("me-profile"), {"full_name": "Only Name"}, format="json")
    assert response.status_code == 400
    assert "payout_email" in response.json()["fields"]


def test_submitting_unverified_is_refused_with_the_reason() -> None:
    user = ContributorFactory(verified=False)
    response = api_for(user).post(reverse("me-application-submit"))
    assert (response.status_code, response.json()["code"]) == (403, "email_not_verified")
    user.profile.refresh_from_db()
    assert user.profile.status == "applicant"


def test_submitting_an_incomplete_application_names_the_missing_fields() -> None:
    user = ContributorFactory()
    ContributorProfile.objects.filter(user=user).update(payout_email="", country="")
    response = api_for(user).post(reverse("me-application-submit"))
    assert response.status_code == 400
    assert response.json()["code"] == "application_incomplete"
    assert set(response.json()["fields"]) == {"payout_email", "country"}


def test_submitting_a_complete_application_moves_to_assessing() -> None:
    user = ContributorFactory()
    client = api_for(user)
    assert client.get(reverse("me-application")).json()["can_submit"] is True
    response = client.post(reverse("me-application-submit"))
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["can_submit"]) == ("assessing", False)


def test_a_contributor_cannot_read_another_profile_by_id() -> None:
    owner = ContributorFactory()
    other = ContributorFactory()
    response = api_for(other).get(reverse("profile-detail", args=[owner.profile.pk]))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    history = api_for(other).get(reverse("profile-history", args=[owner.profile.pk]))
    assert history.status_code == 404


def test_the_owner_and_staff_can_read_a_profile(staff_user) -> None:
    owner = ContributorFactory()
    url = reverse("profile-detail", args=[owner.profile.pk])
    assert api_for(owner).get(url).json()["email"] == owner.email
    assert api_for(staff_user).get(url).json()["email"] == owner.email


def test_a_contributors_list_holds_only_their_own_row() -> None:
    own = ContributorFactory()
    ContributorFactory.create_batch(3)
    body = api_for(own).get(reverse("profile-list")).json()
    assert body["count"] == 1
    assert [row["email"] for row in body["results"]] == [own.email]


def test_staff_list_filters_by_status_and_country(staff_user) -> None:
    wanted = ContributorFactory(status="assessing")
    ContributorFactory(status="active")
    ContributorProfile.objects.filter(user=wanted).update(country="BR")
    body = (
        api_for(staff_user)
        .get(reverse("profile-list"), {"status": "assessing", "country": "br"})
        .json()
    )
    assert [row["email"] for row in body["results"]] == [wanted.email]


def test_an_unknown_status_filter_is_a_field_error(staff_user) -> None:
    response = api_for(staff_user).get(reverse("profile-list"), {"status": "__all__"})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["status"]


def test_lists_are_paginated_and_capped_at_100(staff_user) -> None:
    ContributorFactory.create_batch(3, with_lists=False)
    body = api_for(staff_user).get(reverse("profile-list"), {"limit": 2}).json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert "offset=2" in body["next"]
    capped = api_for(staff_user).get(reverse("profile-list"), {"limit": 1000})
    assert capped.status_code == 200


def test_profile_list_query_count_does_not_grow_with_rows(
    staff_user, django_assert_num_queries
) -> None:
    # permissions (2), count, profiles with users, degrees, credentials, languages
    ContributorFactory.create_batch(2)
    client = api_for(User.objects.get(pk=staff_user.pk))
    with django_assert_num_queries(7):
        client.get(reverse("profile-list"))
    ContributorFactory.create_batch(8)
    client = api_for(User.objects.get(pk=staff_user.pk))  # a fresh user: no cached permissions
    with django_assert_num_queries(7):
        client.get(reverse("profile-list"))


def test_contributors_cannot_change_statuses_through_the_api() -> None:
    target = ContributorFactory(status="active")
    response = api_for(ContributorFactory()).post(
        reverse("profile-status-change", args=[target.profile.pk]),
        {"action": "suspend", "reason": "x"},
    )
    assert response.status_code == 403
    target.profile.refresh_from_db()
    assert target.profile.status == "active"


def test_staff_suspend_and_reinstate_through_the_api(staff_user) -> None:
    target = ContributorFactory(status="active")
    url = reverse("profile-status-change", args=[target.profile.pk])
    client = api_for(staff_user)

    suspended = client.post(url, {"action": "suspend", "reason": "Chargeback."})
    again = client.post(url, {"action": "suspend", "reason": "Twice."})
    reinstated = client.post(url, {"action": "reinstate", "reason": "Resolved."})

    assert (suspended.status_code, suspended.json()["status"]) == (200, "suspended")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_status_transition")
    assert (reinstated.status_code, reinstated.json()["status"]) == (200, "active")
    history = client.get(reverse("profile-history", args=[target.profile.pk])).json()["results"]
    assert [(row["to_status"], row["actor"], row["reason"]) for row in history][-2:] == [
        ("suspended", "staff", "Chargeback."),
        ("active", "staff", "Resolved."),
    ]


def test_a_status_change_without_reason_names_the_field(staff_user) -> None:
    target = ContributorFactory(status="active")
    response = api_for(staff_user).post(
        reverse("profile-status-change", args=[target.profile.pk]),
        {"action": "suspend", "reason": ""},
    )
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["reason"]


def test_schema_and_docs_are_served_without_a_cdn(client) -> None:
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")
    assert schema.status_code == 200
    assert b"/api/v1/me/application/submit/" in schema.content
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_a_token_authenticates_its_owner_in_one_query(
    api_client, django_assert_num_queries
) -> None:
    """The API's token lookup (common.api.authentication) answers as DRF's: the owner for a
    known key, 401 for an unknown one or an inactive owner."""
    user = ContributorFactory(status="active")
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_assert_num_queries(1):
        found, auth = TokenAuthentication().authenticate(request)
    assert (found.pk, found.email, auth.key, auth.user_id) == (
        user.pk,
        user.email,
        token.key,
        user.pk,
    )
    assert api_client.get(reverse("me")).json()["email"] == user.email

    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    refused = api_client.get(reverse("me"))
    assert (refused.status_code, refused.json()["detail"]) == (401, "Invalid token.")

    type(user).objects.filter(pk=user.pk).update(is_active=False)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    refused = api_client.get(reverse("me"))
    assert (refused.status_code, refused.json()["detail"]) == (401, "User inactive or deleted.")
