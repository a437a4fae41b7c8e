"""The one next step a person should take, shown on their home page and in /api/v1/me/.

The contributors app knows the first steps (verify the address, complete the application) and
the end states. Apps that come later in the journey register a provider (from their
AppConfig.ready) that may answer for a user; the first provider with an answer wins. This keeps
the imports one way: contributors never imports the apps that build on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.urls import reverse

from contributors.models import ContributorProfile, User


@dataclass(frozen=True)
class NextStep:
    key: str
    title: str
    text: str
    url: str = ""
    action: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Provider = Callable[[User, ContributorProfile], NextStep | None]
_providers: list[Provider] = []

# The journey as the home page draws it; each key is one NextStep.key.
JOURNEY = (
    ("verify_email", "Verify your e-mail address"),
    ("complete_application", "Complete your application"),
    ("take_starter", "Take the Starter Assessment"),
    ("await_decision", "Wait for the decision"),
    ("dashboard", "Pick projects from your dashboard"),
)


def next_step_provider(provider: Provider) -> Provider:
    """Register a provider of next steps for contributors later in the journey."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def next_step_for(user: User) -> NextStep:
    profile = getattr(user, "profile", None)
    if profile is None:
        return NextStep(
            key="staff",
            title="Manage the service",
            text="Your account has no contributor profile; "
            "the admin site has the tools for your role.",
            url=reverse("admin:index"),
            action="Open the admin",
        )
    if not user.is_email_verified:
        return NextStep(
            key="verify_email",
            title="Verify your e-mail address",
            text=f"We sent a link to {user.email}. Follow it to verify your address; "
            "you need a verified address to submit your application.",
            url=reverse("contributors:verify_email_resend"),
            action="Send a new link",
        )
    if profile.application_submitted_at is None:
        return NextStep(
            key="complete_application",
            title="Complete your application",
            text="Tell us about your education, experience, languages and availability.",
            url=reverse("contributors:application"),
            action="Open the application",
        )
    if profile.status == ContributorProfile.Status.NOT_APPROVED:
        return NextStep(
            key="not_approved",
            title="Your application was not approved",
            text="Thank you for your time. The Starter Assessment can be taken only once, so we "
            "cannot offer you projects.",
        )
    for provider in _providers:
        step = provider(user, profile)
        if step is not None:
            return step
    if profile.status == ContributorProfile.Status.ACTIVE:
        return NextStep(
            key="dashboard",
            title="You are approved",
            text="Projects you qualify for will appear on your dashboard.",
        )
    return NextStep(
        key="take_starter",
        title="Take the Starter Assessment",
        text="Your application is in. The Starter Assessment takes about an hour and can be "
        "taken only once, so set aside quiet time before you start.",
    )


def journey_for(step: NextStep) -> list[dict[str, str]]:
    """The journey's steps, each marked done, current or to come, for the home page."""
    keys = [key for key, _title in JOURNEY]
    position = keys.index(step.key) if step.key in keys else len(keys)
    return [
        {
            "key": key,
            "title": title,
            "state": "done" if index < position else "current" if index == position else "todo",
        }
        for index, (key, title) in enumerate(JOURNEY)
    ]
