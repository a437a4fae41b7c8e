"""The contributor status machine and its history."""

import pytest

from common.errors import InvalidInput, PermissionDenied
from contributors import services
from contributors.errors import InvalidStatusTransition
from contributors.models import ContributorProfile
from tests.contributors.factories import ContributorFactory

Status = ContributorProfile.Status
pytestmark = pytest.mark.django_db

ALLOWED = {
    ("applicant", "assessing"),
    ("applicant", "suspended"),
    ("assessing", "active"),
    ("assessing", "not_approved"),
    ("assessing", "suspended"),
    ("active", "suspended"),
    ("not_approved", "suspended"),
    ("suspended", "applicant"),
    ("suspended", "assessing"),
    ("suspended", "active"),
    ("suspended", "not_approved"),
}


def test_transition_table_is_exactly_the_documented_machine() -> None:
    table = {
        (source, target)
        for source, targets in services.STATUS_TRANSITIONS.items()
        for target in targets
    }
    assert table == ALLOWED


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (source, target)
        for source in Status.values
        for target in Status.values
        if (source, target) not in ALLOWED
    ],
)
def test_every_other_transition_is_refused_and_changes_nothing(source: str, target: str) -> None:
    from contributors.services.status import status_transition

    user = ContributorFactory(status=source)
    profile = ContributorProfile.objects.select_related("user").get(user=user)
    history_before = profile.status_changes.count()

    with pytest.raises(InvalidStatusTransition):
        status_transition(profile=profile, to_status=target, actor=None, reason="Trying.")

    profile.refresh_from_db()
    assert profile.status == source
    assert profile.status_changes.count() == history_before


def test_suspension_turns_off_log_in_and_records_who_and_why(staff_user) -> None:
    user = ContributorFactory(status="active")

    services.contributor_suspend(
        profile_id=user.profile.pk, actor=staff_user, reason="Shared account."
    )

    user.refresh_from_db()
    assert user.profile.status == Status.SUSPENDED
    assert user.is_active is False
    change = user.profile.status_changes.latest("created_at")
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        "active",
        "suspended",
        staff_user,
        "Shared account.",
    )


def test_reinstating_returns_to_the_status_before_the_suspension(staff_user) -> None:
    user = ContributorFactory(status="assessing")
    services.contributor_suspend(profile_id=user.profile.pk, actor=staff_user, reason="Check.")

    services.contributor_reinstate(profile_id=user.profile.pk, actor=staff_user, reason="Cleared.")

    user.refresh_from_db()
    assert (user.profile.status, user.is_active) == ("assessing", True)
    assert list(user.profile.status_changes.values_list("to_status", flat=True)) == [
        "assessing",
        "suspended",
        "assessing",
    ]


def test_reinstating_someone_not_suspended_is_refused(staff_user) -> None:
    user = ContributorFactory(status="active")
    with pytest.raises(InvalidStatusTransition, match="Only a suspended contributor"):
        services.contributor_reinstate(profile_id=user.profile.pk, actor=staff_user, reason="x")


def test_a_status_change_needs_a_reason(staff_user) -> None:
    user = ContributorFactory(status="active")
    with pytest.raises(InvalidInput) as caught:
        services.contributor_suspend(profile_id=user.profile.pk, actor=staff_user, reason="   ")
    assert caught.value.fields == {"reason": ["This field is required."]}
    user.refresh_from_db()
    assert user.profile.status == "active"


def test_contributors_cannot_change_statuses() -> None:
    other = ContributorFactory(status="active")
    actor = ContributorFactory(status="active")
    with pytest.raises(PermissionDenied):
        services.contributor_suspend(profile_id=other.profile.pk, actor=actor, reason="Because.")
    other.refresh_from_db()
    assert other.profile.status == "active"


def test_staff_cannot_suspend_themselves(staff_user) -> None:
    from tests.contributors.factories import ProfileFactory

    profile = ProfileFactory(user=staff_user, status="active")
    with pytest.raises(PermissionDenied, match="your own account"):
        services.contributor_suspend(profile_id=profile.pk, actor=staff_user, reason="Oops.")


def test_a_decision_by_the_system_is_recorded_without_an_actor() -> None:
    user = ContributorFactory(status="assessing")

    services.contributor_decide(
        profile_id=user.profile.pk, approved=True, actor=None, reason="Passed."
    )

    user.profile.refresh_from_db()
    assert user.profile.status == "active"
    change = user.profile.status_changes.latest("created_at")
    assert (change.actor, change.reason) == (None, "Passed.")


def test_a_repeated_decision_writes_history_once() -> None:
    user = ContributorFactory(status="assessing")
    for _ in range(2):
        services.contributor_decide(
            profile_id=user.profile.pk, approved=False, actor=None, reason="Failed."
        )
    assert user.profile.status_changes.filter(to_status="not_approved").count() == 1


def test_status_history_is_append_only() -> None:
    user = ContributorFactory(status="applicant")
    change = user.profile.status_changes.get()
    change.reason = "Rewritten."
    with pytest.raises(RuntimeError, match="append-only"):
        change.save()
    with pytest.raises(RuntimeError, match="append-only"):
        change.delete()
