"""Accounts: sign-up, log-in checks and e-mail verification."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from common.errors import InvalidInput
from common.jobs import enqueue_on_commit
from contributors.errors import (
    AccountSuspended,
    EmailAlreadyRegistered,
    EmailAlreadyVerified,
    InvalidCredentials,
    VerificationLinkExpired,
    VerificationLinkInvalid,
)
from contributors.models import ContributorProfile, ContributorStatusChange, User
from contributors.roles import Role
from contributors.services.throttle import (
    client_address_get,
    login_attempt_start,
    login_attempt_succeeded,
)

logger = logging.getLogger(__name__)

VERIFICATION_SALT = "contributors.email_verification"


def _validate_sign_up(*, email: str, password: str, full_name: str) -> None:
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError as error:
        errors["email"] = list(error.messages)
    if not full_name.strip():
        errors["full_name"] = ["This field is required."]
    elif len(full_name) > 200:
        errors["full_name"] = ["Use at most 200 characters."]
    try:
        password_validation.validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise InvalidInput("Invalid input: " + ", ".join(sorted(errors)), fields=errors)


def user_create(
    *,
    email: str,
    password: str | None,
    full_name: str,
    roles: tuple[str, ...] = (Role.CONTRIBUTOR,),
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    """Create an account with its roles; contributors also get a profile, in status applicant.

    Raises EmailAlreadyRegistered when the address is taken, also when two sign-ups race:
    the unique constraint on the e-mail decides.
    """
    email = User.objects.normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise EmailAlreadyRegistered(fields={"email": [EmailAlreadyRegistered.default_message]})
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email,
                    password,
                    full_name=full_name.strip(),
                    is_staff=is_staff,
                    email_verified_at=timezone.now() if email_verified else None,
                )
        except IntegrityError as error:
            raise EmailAlreadyRegistered(
                fields={"email": [EmailAlreadyRegistered.default_message]}
            ) from error
        user.groups.set(Group.objects.filter(name__in=roles))
        if Role.CONTRIBUTOR in roles:
            profile = ContributorProfile.objects.create(user=user)
            ContributorStatusChange.objects.create(
                profile=profile,
                from_status="",
                to_status=profile.status,
                actor=user,
                reason="Signed up.",
                created_at=profile.status_changed_at,
            )
    return user


def user_sign_up(*, email: str, password: str, full_name: str) -> User:
    """Open a contributor account and send the link that verifies its e-mail address."""
    from contributors.tasks import email_verification_send_task

    email = User.objects.normalize_email(email)
    _validate_sign_up(email=email, password=password, full_name=full_name)
    with transaction.atomic():
        user = user_create(email=email, password=password, full_name=full_name)
        enqueue_on_commit(email_verification_send_task, user.pk)
    logger.info("account.signed_up", extra={"user_id": user.pk})
    return user


def user_authenticate(*, request: HttpRequest | None, email: str, password: str) -> User:
    """Check a log-in; a suspended account is told so rather than 'wrong password'.

    The attempt counts against the account's and the client address's limits before the password
    is checked (contributors.services.throttle); over a limit it raises TooManyAttempts unchecked.
    """
    email = User.objects.normalize_email(email)
    attempts = login_attempt_start(email=email, client_address=client_address_get(request=request))
    user = authenticate(request, email=email, password=password)
    if user is not None:
        login_attempt_succeeded(attempts=attempts)
        return user  # type: ignore[return-value]
    candidate = User.objects.filter(email=email).first()
    # Only someone who knows the password learns that the account is suspended.
    if candidate is not None and not candidate.is_active and candidate.check_password(password):
        raise AccountSuspended()
    raise InvalidCredentials()


def email_verification_token_make(*, user: User) -> str:
    """A signed token naming the user and the address it verifies; it expires by settings."""
    return signing.dumps(
        {"user": user.pk, "email": user.email}, salt=VERIFICATION_SALT, compress=True
    )


def email_verification_send(*, user_id: int) -> bool:
    """Mail the verification link; returns False when there is nothing to send."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or user.is_email_verified:
        return False
    token = email_verification_token_make(user=user)
    link = settings.SITE_URL.rstrip("/") + reverse("contributors:verify_email", args=[token])
    context = {
        "user": user,
        "link": link,
        "hours": settings.EMAIL_VERIFICATION_MAX_AGE_SECONDS // 3600,
    }
    send_mail(
        subject="Verify your e-mail address for EvalMarket",
        message=render_to_string("contributors/email/verify_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
    logger.info("account.verification_sent", extra={"user_id": user.pk})
    return True


def email_verification_resend(*, user: User) -> None:
    """Send a fresh verification link, unless the address is already verified."""
    from contributors.tasks import email_verification_send_task

    if user.is_email_verified:
        raise EmailAlreadyVerified()
    enqueue_on_commit(email_verification_send_task, user.pk)


def email_verify(*, token: str) -> User:
    """Mark the address in a verification token as verified; verifying twice is harmless."""
    try:
        data = signing.loads(
            token, salt=VERIFICATION_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired as error:
        raise VerificationLinkExpired() from error
    except signing.BadSignature as error:
        raise VerificationLinkInvalid() from error
    if not isinstance(data, dict):
        raise VerificationLinkInvalid()
    # The token names the address too: a link sent to an old address cannot verify a new one.
    user = User.objects.filter(pk=data.get("user"), email=data.get("email")).first()
    if user is None:
        raise VerificationLinkInvalid()
    if not user.is_email_verified:
        User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(
            email_verified_at=timezone.now()
        )
        user.refresh_from_db(fields=["email_verified_at"])
        logger.info("account.email_verified", extra={"user_id": user.pk})
    return user
