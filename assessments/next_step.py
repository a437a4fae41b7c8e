"""Hooks the assessments app gives the apps below it: the next step on the home page
(contributors.next_step) and which assessment unlocks a qualification."""

from __future__ import annotations

from django.urls import reverse

from assessments.models import Assessment, Attempt
from contributors.models import ContributorProfile, User
from contributors.next_step import NextStep


def assessments_next_step(user: User, profile: ContributorProfile) -> NextStep | None:
    if profile.status != ContributorProfile.Status.ASSESSING:
        return None
    attempt = Attempt.objects.filter(user=user, is_starter=True).first()
    if attempt is None:
        return NextStep(
            key="take_starter",
            title="Take the Starter Assessment",
            text="Your application is in. The Starter Assessment takes about an hour and can be "
            "taken only once, so set aside quiet time before you start.",
            url=reverse("assessments:detail", args=["starter"]),
            action="Open the Starter Assessment",
        )
    if attempt.status == Attempt.Status.IN_PROGRESS:
        return NextStep(
            key="take_starter",
            title="Finish your Starter Assessment",
            text=f"Your attempt is under way; its time ends at {attempt.deadline_at:%H:%M} UTC. "
            "Your answers are saved as you go.",
            url=reverse("assessments:attempt", args=[attempt.pk]),
            action="Resume",
        )
    return NextStep(
        key="await_decision",
        title="Wait for the decision",
        text="Your Starter Assessment is being scored; written answers are graded by two "
        "reviewers. Decisions usually arrive within 72 hours, by e-mail.",
        url=reverse("assessments:result", args=[attempt.pk]),
        action="See where it stands",
    )


def assessments_unlock_hints(codes: set[str]) -> dict[str, dict[str, str]]:
    """Which current assessment grants each of these qualifications (for locked projects)."""
    hints: dict[str, dict[str, str]] = {}
    for assessment in Assessment.objects.filter(is_current=True).only(
        "slug", "title", "grants", "kind"
    ):
        for code in set(assessment.grants) & codes:
            hints.setdefault(
                code,
                {
                    "title": assessment.title,
                    "url": reverse("assessments:detail", args=[assessment.slug]),
                },
            )
    return hints
