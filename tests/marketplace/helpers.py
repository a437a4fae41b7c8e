"""Test helpers for the marketplace: projects made through the services, qualified people."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contributors.models import Credential, Qualification, User
from marketplace import services
from marketplace.models import Project
from tests.contributors.factories import ContributorFactory, UserFactory


def staff() -> User:
    return UserFactory(roles=("staff",), is_staff=True)


def make_project(
    *,
    actor: User | None = None,
    status: str = "active",
    requires_all: list[str] | None = None,
    requires_any: list[str] | None = None,
    languages: list[str] | None = None,
    **fields: Any,
) -> Project:
    actor = actor or staff()
    data = {
        "title": "Compare answers",
        "description": "Compare two answers.",
        "tier": "general",
        "pay_model": "hourly",
        "pay_rate": Decimal("25.00"),
        "capacity": 10,
        **fields,
    }
    project = services.project_create(
        actor=actor,
        data=data,
        requires_all=["general"] if requires_all is None else requires_all,
        requires_any=requires_any or [],
        languages=languages or [],
    )
    if status != "draft":
        services.project_transition(project_id=project.pk, actor=actor, to_status="active")
    if status in ("paused", "completed"):
        services.project_transition(project_id=project.pk, actor=actor, to_status=status)
    return Project.objects.get(pk=project.pk)


def qualified(*codes: str, licences: tuple[str, ...] = ()) -> User:
    """An active contributor holding these qualifications (and declared licences)."""
    user = ContributorFactory(status="active")
    for code in codes:
        Qualification.objects.create(user=user, code=code, source="test")
    for kind in licences:
        Credential.objects.create(
            profile=user.profile, kind=kind, licence_number=f"L-{kind}", jurisdiction="NY"
        )
    return user
