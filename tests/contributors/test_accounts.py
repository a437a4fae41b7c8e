"""Sign-up, log-in and e-mail verification."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.utils import timezone

from common.errors import InvalidInput
from contributors import services
from contributors.errors import (
    AccountSuspended,
    EmailAlreadyRegistered,
    EmailAlreadyVerified,
    InvalidCredentials,
    VerificationLinkExpired,
    VerificationLinkInvalid,
)
from contributors.models import ContributorProfile, User
from tests.contributors.factories import PASSWORD, ContributorFactory

pytestmark = pytest.mark.django_db


def sign_up(email: str = "Ann.Lee@Example.org") -> User:
    return services.user_sign_up(email=email, password="a-long-passphrase-42", full_name="Ann Lee")


def test_sign_up_makes_an_applicant_with_history_and_the_contributor_role(
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        user = sign_up()

    assert user.email == "ann.lee@example.org"
    assert user.is_email_verified is False
    assert list(user.groups.values_list("name", flat=True)) == ["contributor"]
    assert user.profile.status == ContributorProfile.Status.APPLICANT
    change = user.profile.status_changes.get()
    assert (change.from_status, change.to_status, change.actor) == ("", "applicant", user)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann.lee@example.org"]
    assert "http://testserver/accounts/verify/" in mail.outbox[0].body


def test_sign_up_queues_the_verification_mail_only_after_commit(
    django_capture_on_commit_callbacks, mocker
) -> None:
    from contributors.tasks import email_verification_send_task

    delay = mocker.patch.object(email_verification_send_task, "delay")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user = sign_up()
    delay.assert_not_called()
    for callback in callbacks:
        callback()
    delay.assert_called_once_with(user.pk)


def test_sign_up_with_a_taken_address_in_other_case_is_refused() -> None:
    sign_up("ann@example.org")
    with pytest.raises(EmailAlreadyRegistered) as caught:
        sign_up("ANN@example.org")
    assert list(caught.value.fields) == ["email"]
    assert User.objects.filter(email="ann@example.org").count() == 1


def test_sign_up_names_every_bad_field_and_saves_nothing() -> None:
    with pytest.raises(InvalidInput) as caught:
        services.user_sign_up(email="not-an-address", password="123", full_name=" ")
    assert set(caught.value.fields) == {"email", "password", "full_name"}
    assert User.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_sign_ups_with_one_address_make_one_account() -> None:
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            sign_up("race@example.org")
            outcomes.append("created")
        except EmailAlreadyRegistered:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created"] + ["refused"] * 7
    assert User.objects.filter(email="race@example.org").count() == 1
    assert ContributorProfile.objects.filter(user__email="race@example.org").count() == 1


def test_verification_link_verifies_once_and_again_harmlessly() -> None:
    user = sign_up()
    token = services.email_verification_token_make(user=user)

    first = services.email_verify(token=token)
    verified_at = first.email_verified_at
    second = services.email_verify(token=token)

    assert verified_at is not None
    assert second.email_verified_at == verified_at


def test_a_tampered_verification_link_is_refused() -> None:
    user = sign_up()
    token = services.email_verification_token_make(user=user)
    with pytest.raises(VerificationLinkInvalid):
        services.email_verify(token=token[:-2] + "xx")
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_an_expired_verification_link_is_refused(settings) -> None:
    user = sign_up()
    token = services.email_verification_token_make(user=user)
    later = timezone.now() + timedelta(seconds=settings.EMAIL_VERIFICATION_MAX_AGE_SECONDS + 60)
    with time_machine.travel(later), pytest.raises(VerificationLinkExpired):
        services.email_verify(token=token)


def test_a_link_for_an_old_address_cannot_verify_a_new_one() -> None:
    user = sign_up()
    token = services.email_verification_token_make(user=user)
    User.objects.filter(pk=user.pk).update(email="new@example.org")
    with pytest.raises(VerificationLinkInvalid):
        services.email_verify(token=token)


def test_resending_to_a_verified_address_is_refused() -> None:
    user = ContributorFactory(verified=True)
    with pytest.raises(EmailAlreadyVerified):
        services.email_verification_resend(user=user)


def test_log_in_accepts_the_address_in_any_case() -> None:
    user = ContributorFactory()
    assert (
        services.user_authenticate(request=None, email=user.email.upper(), password=PASSWORD)
        == user
    )


def test_log_in_with_a_wrong_password_is_refused() -> None:
    user = ContributorFactory()
    with pytest.raises(InvalidCredentials):
        services.user_authenticate(request=None, email=user.email, password="wrong")


def test_a_suspended_account_is_told_so_at_log_in() -> None:
    user = ContributorFactory(status="suspended")
    with pytest.raises(AccountSuspended):
        services.user_authenticate(request=None, email=user.email, password=PASSWORD)


def test_a_suspended_account_with_a_wrong_password_learns_nothing_more() -> None:
    user = ContributorFactory(status="suspended")
    with pytest.raises(InvalidCredentials):
        services.user_authenticate(request=None, email=user.email, password="wrong")


def test_roles_exist_as_groups_with_their_permissions() -> None:
    groups = {
        group.name: group for group in Group.objects.prefetch_related("permissions__content_type")
    }
    assert set(groups) == {"contributor", "reviewer", "expert_reviewer", "staff", "finance_admin"}

    def codes(name: str) -> set[str]:
        return {f"{p.content_type.app_label}.{p.codename}" for p in groups[name].permissions.all()}

    assert "contributors.review_work" in codes("reviewer")
    assert "contributors.review_as_expert" not in codes("reviewer")
    assert {"contributors.review_work", "contributors.review_as_expert"} <= codes("expert_reviewer")
    assert "contributors.change_contributor_status" in codes("staff")
    assert "contributors.change_contributor_status" not in codes("finance_admin")
    assert codes("contributor") == set()


def test_user_email_must_be_stored_lowercase() -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="Upper@Example.org", full_name="U")])
