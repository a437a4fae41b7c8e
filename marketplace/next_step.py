"""The marketplace's answer to 'what next?' for approved contributors: the dashboard."""

from __future__ import annotations

from django.urls import reverse

from contributors.models import ContributorProfile, User
from contributors.next_step import NextStep


def marketplace_next_step(user: User, profile: ContributorProfile) -> NextStep | None:
    if profile.status != ContributorProfile.Status.ACTIVE:
        return None
    return NextStep(
        key="dashboard",
        title="Pick projects from your dashboard",
        text="You are approved. The dashboard lists the paid projects you qualify for, and the "
        "assessments that would open more.",
        url=reverse("marketplace:dashboard"),
        action="Open the dashboard",
    )
