"""Log-in and password-reset limits (contributors.services.throttle), and the life of a session.

The limits' settings are the defaults of config/settings/base.py: 5 failed log-ins per account
and 20 log-ins per client address per 15 minutes, 3 reset requests per address typed per hour.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.db import connections, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contributors import services
from contributors.errors import InvalidCredentials, TooManyAttempts
from contributors.models import AuthAttemptCounter
from contributors.services.throttle import (
    auth_attempt_count,
    auth_attempt_give_back,
    auth_attempts_purge,
    client_address_get,
)
from contributors.tasks import auth_attempts_purge_task
from tests.contributors.factories import PASSWORD, ContributorFactory, UserFactory
from tests.figures import figure

pytestmark = pytest.mark.django_db

WRONG = "not-the-password-1"
ACCOUNT_LIMIT = settings.AUTH_RATE_LIMITS["login_account"]["limit"]
WINDOW = timedelta(seconds=settings.AUTH_RATE_LIMITS["login_account"]["window_seconds"])


def _log_in(*, email: str, password: str, address: str = "203.0.113.7"):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=address)
    return services.user_authenticate(request=request, email=email, password=password)


def _fail_to_log_in(*, email: str, times: int, address: str = "203.0.113.7") -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            _log_in(email=email, password=WRONG, address=address)


# The counter and its windows.


def test_each_attempt_is_counted_in_one_window() -> None:
    now = timezone.now()
    counts = [
        auth_attempt_count(name="login_account", subject="ann@example.org", now=now).count
        for _ in range(3)
    ]
    assert counts == [1, 2, 3]
    assert AuthAttemptCounter.objects.get().window_started_at == now


def test_a_window_is_fixed_from_its_first_attempt() -> None:
    start = timezone.now()
    auth_attempt_count(name="login_account", subject="ann@example.org", now=start)
    later = auth_attempt_count(
        name="login_account", subject="ann@example.org", now=start + timedelta(minutes=10)
    )
    assert later.window_started_at == start
    assert later.retry_after(now=start + timedelta(minutes=10)) == 5 * 60


def test_an_attempt_after_the_window_starts_a_new_one_at_one() -> None:
    start = timezone.now()
    for _ in range(7):
        auth_attempt_count(name="login_account", subject="ann@example.org", now=start)
    after = start + WINDOW + timedelta(seconds=1)
    attempt = auth_attempt_count(name="login_account", subject="ann@example.org", now=after)
    assert (attempt.count, attempt.window_started_at, attempt.is_allowed) == (1, after, True)


def test_counts_are_kept_per_limit_and_subject_without_the_address_in_clear() -> None:
    for subject in ("ann@example.org", "ann@example.org", "bob@example.org"):
        auth_attempt_count(name="login_account", subject=subject)
    auth_attempt_count(name="reset_account", subject="ann@example.org")
    rows = sorted(AuthAttemptCounter.objects.values_list("key", "attempts"), key=str)
    assert sorted(attempts for _key, attempts in rows) == [1, 1, 2]
    assert [key.split(":")[0] for key, _attempts in rows].count("login_account") == 2
    assert not any("example.org" in key for key, _attempts in rows)


def test_giving_back_uncounts_within_the_window_only() -> None:
    start = timezone.now()
    first = auth_attempt_count(name="login_account", subject="ann@example.org", now=start)
    auth_attempt_count(name="login_account", subject="ann@example.org", now=start)
    auth_attempt_give_back(attempt=first)
    assert AuthAttemptCounter.objects.get().attempts == 1

    auth_attempt_count(
        name="login_account", subject="ann@example.org", now=start + WINDOW + timedelta(seconds=1)
    )
    auth_attempt_give_back(attempt=first)  # from a window that has ended: no effect
    assert AuthAttemptCounter.objects.get().attempts == 1


def test_counting_inside_a_callers_transaction_fails_loudly() -> None:
    # The count must commit on its own: rolled back with a failed log-in it would count nothing.
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        auth_attempt_count(name="login_account", subject="ann@example.org")


def test_purge_deletes_only_counters_whose_every_window_is_over() -> None:
    now = timezone.now()
    auth_attempt_count(
        name="login_account", subject="old@example.org", now=now - timedelta(hours=2)
    )
    auth_attempt_count(name="login_account", subject="new@example.org", now=now)
    assert auth_attempts_purge(now=now) == 1
    assert AuthAttemptCounter.objects.count() == 1


def test_the_hourly_task_purges_ended_counters() -> None:
    auth_attempt_count(
        name="reset_account", subject="old@example.org", now=timezone.now() - timedelta(hours=2)
    )
    auth_attempts_purge_task()
    assert not AuthAttemptCounter.objects.exists()


# The client address.


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "198.51.100.4", "203.0.113.9", "198.51.100.4"),  # no proxy: the header is ignored
        (1, "10.0.0.2", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # what our proxy saw
        (2, "10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (1, "10.0.0.2", "", "10.0.0.2"),  # a request that bypassed the proxy
        (1, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (0, "2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),
        (0, "::ffff:198.51.100.4", "", "198.51.100.4"),
    ],
)
def test_the_client_address_is_what_the_trusted_proxy_saw(
    settings, proxies: int, remote: str, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address_get(request=request) == expected


# Log-in.


def test_over_the_account_limit_even_the_right_password_is_refused_unchecked() -> None:
    user = ContributorFactory()
    _fail_to_log_in(email=user.email, times=ACCOUNT_LIMIT)
    with pytest.raises(TooManyAttempts) as refused:
        _log_in(email=user.email.upper(), password=PASSWORD)
    assert refused.value.retry_after == pytest.approx(WINDOW.total_seconds(), abs=5)
    assert refused.value.message == "Too many log-in attempts. Try again in 15 minutes."


def test_successful_log_ins_use_up_no_limit() -> None:
    user = ContributorFactory()
    ip_limit = settings.AUTH_RATE_LIMITS["login_ip"]["limit"]
    for _ in range(ip_limit + 5):
        assert _log_in(email=user.email, password=PASSWORD) == user
    _fail_to_log_in(email=user.email, times=ACCOUNT_LIMIT)
    with pytest.raises(TooManyAttempts):
        _log_in(email=user.email, password=PASSWORD)


def test_a_success_takes_back_only_itself_not_earlier_failures() -> None:
    user, own = ContributorFactory(), ContributorFactory()
    for _ in range(ACCOUNT_LIMIT):
        _fail_to_log_in(email=user.email, times=1)
        assert _log_in(email=own.email, password=PASSWORD) == own
    with pytest.raises(TooManyAttempts):
        _log_in(email=user.email, password=PASSWORD)


def test_the_address_limit_covers_guesses_spread_over_many_accounts(settings) -> None:
    settings.AUTH_RATE_LIMITS = {
        **settings.AUTH_RATE_LIMITS,
        "login_ip": {"limit": 3, "window_seconds": 900},
    }
    users = [ContributorFactory() for _ in range(4)]
    for user in users[:3]:
        _fail_to_log_in(email=user.email, times=1)
    with pytest.raises(TooManyAttempts):
        _log_in(email=users[3].email, password=WRONG)
    assert _log_in(email=users[3].email, password=PASSWORD, address="198.51.100.1") == users[3]


def test_the_owner_logs_in_once_the_window_is_over() -> None:
    user = ContributorFactory()
    _fail_to_log_in(email=user.email, times=ACCOUNT_LIMIT)
    with pytest.raises(TooManyAttempts):
        _log_in(email=user.email, password=PASSWORD)
    with time_machine.travel(timezone.now() + WINDOW + timedelta(seconds=1), tick=False):
        assert _log_in(email=user.email, password=PASSWORD) == user


def test_the_token_api_refuses_with_429_retry_after_in_the_error_shape(api_client) -> None:
    user = ContributorFactory()
    url = reverse("auth-token")
    for _ in range(ACCOUNT_LIMIT):
        assert api_client.post(url, {"email": user.email, "password": WRONG}).status_code == 400
    response = api_client.post(url, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.json() == {
        "detail": "Too many log-in attempts. Try again in 15 minutes.",
        "code": "too_many_attempts",
        "fields": {},
    }
    assert 890 <= int(response["Retry-After"]) <= 900
    assert not Token.objects.filter(user=user).exists()


def test_the_log_in_page_says_when_to_try_again(client) -> None:
    user = ContributorFactory()
    url = reverse("contributors:login")
    for _ in range(ACCOUNT_LIMIT):
        client.post(url, {"email": user.email, "password": WRONG})
    response = client.post(url, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many log-in attempts. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_log_in_is_limited_too(client) -> None:
    staff = UserFactory(roles=("staff",), is_staff=True)
    url = reverse("admin:login")
    for _ in range(ACCOUNT_LIMIT):
        wrong = client.post(url, {"username": staff.email, "password": WRONG})
        assert "Please enter the correct e-mail address and password" in wrong.content.decode()
    refused = client.post(url, {"username": staff.email, "password": PASSWORD})
    assert "Too many log-in attempts. Try again in 15 minutes." in refused.content.decode()
    assert "_auth_user_id" not in client.session
    with time_machine.travel(timezone.now() + WINDOW + timedelta(seconds=1), tick=False):
        assert client.post(url, {"username": staff.email, "password": PASSWORD}).status_code == 302


# Password reset.


def test_reset_requests_are_limited_per_address_typed_whether_or_not_it_has_an_account(
    client,
) -> None:
    user = ContributorFactory()
    url = reverse("contributors:password_reset")
    for email in (user.email, "nobody@example.org"):
        answers = [client.post(url, {"email": email}).status_code for _ in range(4)]
        assert answers == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    refused = client.post(url, {"email": user.email.upper()})
    assert refused.status_code == 429
    assert "Too many password reset requests. Try again in 60 minutes." in refused.content.decode()


# Sessions.


def _page_log_in(client: Client, user) -> str:
    response = client.post(
        reverse("contributors:login"), {"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client.session.session_key


def _is_logged_in(client: Client) -> bool:
    return client.get(reverse("me")).status_code == 200


def test_log_in_gives_a_new_session_key_and_ends_the_old_one(client) -> None:
    user = ContributorFactory()
    anonymous = client.session
    anonymous["seen"] = True
    anonymous.save()
    before = anonymous.session_key
    after = _page_log_in(client, user)
    assert after != before
    assert not SessionStore().exists(before)  # a planted session id is worth nothing


def test_log_out_ends_the_session_on_the_server(client) -> None:
    user = ContributorFactory()
    key = _page_log_in(client, user)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert _is_logged_in(replay)
    client.post(reverse("contributors:logout"))
    assert not SessionStore().exists(key)
    assert not _is_logged_in(replay)


def test_a_password_reset_ends_every_session_and_token_of_the_user() -> None:
    user = ContributorFactory()
    laptop, phone = Client(), Client()
    _page_log_in(laptop, user)
    _page_log_in(phone, user)
    Token.objects.create(user=user)

    stranger = Client()  # the reset is done wherever the mail is read
    stranger.post(reverse("contributors:password_reset"), {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", mail.outbox[0].body)
    form = stranger.get(link.group(1), follow=True)
    stranger.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand-new-passphrase-7", "new_password2": "brand-new-passphrase-7"},
    )

    assert (_is_logged_in(laptop), _is_logged_in(phone)) == (False, False)
    assert not Token.objects.filter(user=user).exists()


def test_a_password_set_elsewhere_ends_the_users_sessions(client) -> None:
    user = ContributorFactory()
    _page_log_in(client, user)
    user.set_password("set-by-staff-in-admin-3")  # what the admin's password form does
    user.save()
    assert not _is_logged_in(client)


# Concurrency, on PostgreSQL: many connections at once.


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_let_through_no_more_than_the_limit() -> None:
    user = ContributorFactory()
    attempts, threads = 200, 40
    url = reverse("auth-token")
    start = threading.Barrier(threads)

    def guess_several(share: int) -> list[int]:
        client = APIClient(REMOTE_ADDR="203.0.113.50")
        try:
            start.wait(timeout=30)
            return [
                client.post(url, {"email": user.email, "password": WRONG}).status_code
                for _ in range(share)
            ]
        finally:
            connections.close_all()

    shares = [attempts // threads + (index < attempts % threads) for index in range(threads)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = Counter(
            status for result in pool.map(guess_several, shares) for status in result
        )

    let_through = statuses[400]  # answered "wrong password": the password was checked
    counted = sorted(AuthAttemptCounter.objects.values_list("attempts", flat=True))

    # The window ends (the counters are aged past it): the owner logs in from the same address.
    AuthAttemptCounter.objects.update(
        window_started_at=timezone.now() - WINDOW - timedelta(seconds=1)
    )
    owner = APIClient(REMOTE_ADDR="203.0.113.50").post(
        url, {"email": user.email, "password": PASSWORD}
    )
    figure(
        "auth_limits",
        attempts=attempts,
        threads=threads,
        let_through=let_through,
        limit=ACCOUNT_LIMIT,
        refused=statuses[429],
        owner_after_window=owner.status_code,
    )
    assert statuses == {400: ACCOUNT_LIMIT, 429: attempts - ACCOUNT_LIMIT}
    assert counted == [attempts, attempts]  # account and address: every attempt, refused too
    assert owner.status_code == 200
