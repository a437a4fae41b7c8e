"""Rate limits of log-in and password reset: fixed windows, each attempt counted atomically.

Every attempt is counted in one statement on a small table,

    INSERT … ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1 … RETURNING attempts

which the database carries out atomically, on PostgreSQL (the deployment) as on SQLite (the
zero-setup default): concurrent attempts on one key queue on its row, and each gets back the count
that includes itself, so no two can both read "4 of 5" and pass. The table was chosen over the
cache, whose Redis backend would be atomic too (INCR), because without Redis the cache is
per-process memory (local runs, the test suite), where each gunicorn worker would grant the full
limit, and because Redis may evict a key under memory pressure, which silently lifts a limit. The
price is two small writes per attempt, on a path that already runs a deliberately slow password
hash. `auth_attempts_purge` (hourly, contributors.tasks) deletes rows whose window is over.

An attempt is counted before the password is checked, so a guess still being checked holds its
place: the limit bounds guesses let through, not guesses finished. A successful log-in then gives
its own attempt back, so the counts are of failures (plus attempts in flight) and people who log
in often, or many people behind one address, never use up a limit; a success takes back only
itself, never an earlier failure. Windows are fixed: the first attempt opens one, and when it
ends the count starts again, so the owner can log in once an attacker's window is over.

Keys hold no personal data: the e-mail address or the client address is hashed with the secret key.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime

from contributors.errors import TooManyAttempts
from contributors.models import AuthAttemptCounter, User

logger = logging.getLogger(__name__)

KEY_SALT = "contributors.throttle"
LOGIN_REFUSED = "Too many log-in attempts. Try again in {wait}."
RESET_REFUSED = "Too many password reset requests. Try again in {wait}."


@dataclass(frozen=True)
class RateLimit:
    name: str
    limit: int
    window: timedelta


@dataclass(frozen=True)
class Attempt:
    """One counted attempt: the count of its window including itself."""

    rate_limit: RateLimit
    key: str
    count: int
    window_started_at: datetime

    @property
    def is_allowed(self) -> bool:
        return self.count <= self.rate_limit.limit

    def retry_after(self, *, now: datetime) -> int:
        """Whole seconds until the window ends (at least 1)."""
        left = (self.window_started_at + self.rate_limit.window - now).total_seconds()
        return max(1, math.ceil(left))


def rate_limit_get(*, name: str) -> RateLimit:
    """The limit named in settings.AUTH_RATE_LIMITS, read at call time."""
    rule = settings.AUTH_RATE_LIMITS[name]
    return RateLimit(
        name=name, limit=int(rule["limit"]), window=timedelta(seconds=int(rule["window_seconds"]))
    )


def client_address_get(*, request: HttpRequest | None) -> str | None:
    """The client's address as the limits see it, or None without a request.

    Behind TRUSTED_PROXY_COUNT proxies it is the X-Forwarded-For entry the outermost of them
    added; entries further left are whatever the client wrote. An IPv6 client counts by its /64
    network, which one subscriber usually holds whole.
    """
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    address = remote
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    for candidate in (address, remote):
        try:
            ip = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        return str(ip)
    return remote or None


def _key(*, rate_limit: RateLimit, subject: str) -> str:
    digest = salted_hmac(KEY_SALT, f"{rate_limit.name}:{subject}", algorithm="sha256")
    return f"{rate_limit.name}:{digest.hexdigest()}"


def _as_aware(value: datetime | str) -> datetime:
    # PostgreSQL returns an aware datetime; SQLite the text Django stored (UTC, naive).
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if parsed is None:
        raise ValueError(f"Not a datetime: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def auth_attempt_count(*, name: str, subject: str, now: datetime | None = None) -> Attempt:
    """Count one attempt of `subject` (an e-mail, an address) under the named limit.

    One INSERT … ON CONFLICT DO UPDATE … RETURNING, committed at once (durable: it must not roll
    back with a caller's transaction, nor wait for one to commit while holding the row).
    """
    rate_limit = rate_limit_get(name=name)
    now = now or timezone.now()
    key = _key(rate_limit=rate_limit, subject=subject)
    ops = connection.ops
    table = ops.quote_name(AuthAttemptCounter._meta.db_table)
    key_column = ops.quote_name("key")
    started = ops.quote_name("window_started_at")
    attempts = ops.quote_name("attempts")
    # The window is open while it started after the cutoff; an older one starts again at 1.
    # Only quoted names of our own table are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({key_column}, {started}, {attempts}) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT ({key_column}) DO UPDATE SET "
        f"{attempts} = CASE WHEN {table}.{started} > %s THEN {table}.{attempts} + 1 ELSE 1 END, "
        f"{started} = CASE WHEN {table}.{started} > %s THEN {table}.{started} "
        f"ELSE excluded.{started} END "
        f"RETURNING {attempts}, {started}"
    )
    cutoff = ops.adapt_datetimefield_value(now - rate_limit.window)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(sql, [key, ops.adapt_datetimefield_value(now), cutoff, cutoff])
        count, window_started_at = cursor.fetchone()
    return Attempt(
        rate_limit=rate_limit,
        key=key,
        count=int(count),
        window_started_at=_as_aware(window_started_at),
    )


def auth_attempt_give_back(*, attempt: Attempt) -> None:
    """Uncount an attempt that proved legitimate; a window that has since ended is left alone."""
    AuthAttemptCounter.objects.filter(
        key=attempt.key, window_started_at=attempt.window_started_at, attempts__gt=0
    ).update(attempts=F("attempts") - 1)


def _count_or_refuse(
    *, subjects: Sequence[tuple[str, str | None]], message: str
) -> tuple[Attempt, ...]:
    now = timezone.now()
    counted = tuple(
        auth_attempt_count(name=name, subject=subject, now=now)
        for name, subject in subjects
        if subject
    )
    refused = [attempt for attempt in counted if not attempt.is_allowed]
    if refused:
        wait = max(attempt.retry_after(now=now) for attempt in refused)
        minutes = math.ceil(wait / 60)
        logger.warning(
            "auth.rate_limited",
            extra={"limits": [attempt.rate_limit.name for attempt in refused], "wait": wait},
        )
        raise TooManyAttempts(
            message.format(wait="1 minute" if minutes == 1 else f"{minutes} minutes"),
            retry_after=wait,
        )
    return counted


def login_attempt_start(*, email: str, client_address: str | None) -> tuple[Attempt, ...]:
    """Count a log-in attempt for the account and the client address; refuse one over a limit.

    Call it before checking the password, and `login_attempt_succeeded` after a right one.
    Raises TooManyAttempts (429, with the seconds to wait) when either count is over its limit.
    """
    return _count_or_refuse(
        subjects=[
            ("login_account", User.objects.normalize_email(email)),
            ("login_ip", client_address),
        ],
        message=LOGIN_REFUSED,
    )


def login_attempt_succeeded(*, attempts: Sequence[Attempt]) -> None:
    """Give a successful log-in's attempt back, to the account and to the client address."""
    for attempt in attempts:
        auth_attempt_give_back(attempt=attempt)


def password_reset_attempt_count(*, email: str, client_address: str | None) -> None:
    """Count a password-reset request for the address typed and the client; refuse over a limit.

    Counted whether or not an account has that address, so a refusal tells nothing about it.
    """
    _count_or_refuse(
        subjects=[
            ("reset_account", User.objects.normalize_email(email)),
            ("reset_ip", client_address),
        ],
        message=RESET_REFUSED,
    )


def auth_attempts_purge(*, now: datetime | None = None) -> int:
    """Delete counters whose window is over under every limit; returns how many."""
    now = now or timezone.now()
    longest = max(rate_limit_get(name=name).window for name in settings.AUTH_RATE_LIMITS)
    deleted, _ = AuthAttemptCounter.objects.filter(window_started_at__lte=now - longest).delete()
    return deleted
