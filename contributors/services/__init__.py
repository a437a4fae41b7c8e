"""Writes of the contributors app. Views, admin actions, tasks and commands all call these."""

from contributors.services.accounts import (
    email_verification_resend,
    email_verification_send,
    email_verification_token_make,
    email_verify,
    user_authenticate,
    user_create,
    user_sign_up,
)
from contributors.services.application import (
    application_missing_fields,
    application_save,
    application_submit,
    profile_update,
)
from contributors.services.qualifications import qualification_grant, qualification_revoke
from contributors.services.standing import quality_score_record, standing_set
from contributors.services.status import (
    STATUS_TRANSITIONS,
    contributor_decide,
    contributor_reinstate,
    contributor_suspend,
)
from contributors.services.throttle import (
    auth_attempts_purge,
    client_address_get,
    password_reset_attempt_count,
)

__all__ = [
    "STATUS_TRANSITIONS",
    "application_missing_fields",
    "application_save",
    "application_submit",
    "auth_attempts_purge",
    "client_address_get",
    "contributor_decide",
    "contributor_reinstate",
    "contributor_suspend",
    "email_verification_resend",
    "email_verification_send",
    "email_verification_token_make",
    "email_verify",
    "password_reset_attempt_count",
    "profile_update",
    "qualification_grant",
    "qualification_revoke",
    "quality_score_record",
    "standing_set",
    "user_authenticate",
    "user_create",
    "user_sign_up",
]
