"""The admin: profiles with filters, search and history; status actions through the services."""

import pytest
from django.urls import reverse

from tests.contributors.factories import ContributorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def test_profile_list_filters_by_status_and_country_and_searches(client, superuser) -> None:
    wanted = ContributorFactory(status="assessing", full_name="Zelda Zed")
    ContributorFactory(status="active")
    client.force_login(superuser)
    url = reverse("admin:contributors_contributorprofile_changelist")
    response = client.get(url, {"status__exact": "assessing", "country__exact": "NL", "q": "zelda"})
    assert response.status_code == 200
    assert [profile.user for profile in response.context["cl"].result_list] == [wanted]


def test_profile_page_shows_the_status_history_inline(client, superuser) -> None:
    user = ContributorFactory(status="active")
    client.force_login(superuser)
    response = client.get(
        reverse("admin:contributors_contributorprofile_change", args=[user.profile.pk])
    )
    assert response.status_code == 200
    assert (
        "Status changes" in response.content.decode()
        or "status change" in response.content.decode().lower()
    )
    assert "Factory." in response.content.decode()


def test_suspend_action_asks_for_a_reason_then_suspends(client, superuser) -> None:
    target = ContributorFactory(status="active")
    client.force_login(superuser)
    url = reverse("admin:contributors_contributorprofile_changelist")
    ask = client.post(url, {"action": "suspend_selected", "_selected_action": [target.profile.pk]})
    assert "The reason is written to each one" in ask.content.decode()

    client.post(
        url,
        {
            "action": "suspend_selected",
            "_selected_action": [target.profile.pk],
            "apply": "1",
            "reason": "Spam.",
        },
    )

    target.refresh_from_db()
    assert (target.profile.status, target.is_active) == ("suspended", False)
    change = target.profile.status_changes.latest("created_at")
    assert (change.actor, change.reason) == (superuser, "Spam.")


def test_staff_role_can_open_the_profile_admin_but_finance_cannot_suspend(client) -> None:
    ContributorFactory(status="active")
    staff = UserFactory(roles=("staff",), is_staff=True)
    finance = UserFactory(roles=("finance_admin",), is_staff=True)
    url = reverse("admin:contributors_contributorprofile_changelist")
    client.force_login(staff)
    staff_page = client.get(url)
    assert staff_page.status_code == 200
    assert "suspend_selected" in staff_page.content.decode()
    client.force_login(finance)
    finance_page = client.get(url)
    assert finance_page.status_code == 200
    assert "suspend_selected" not in finance_page.content.decode()
