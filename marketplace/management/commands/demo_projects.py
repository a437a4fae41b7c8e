"""Load demo projects in every tier (idempotent). Development only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contributors.models import User
from marketplace import services
from marketplace.models import Project

PROJECTS: list[dict[str, Any]] = [
    {
        "data": {
            "title": "Chatbot answer comparisons",
            "description": (
                "Compare two assistant answers to everyday questions and say "
                "which is better, and why."
            ),
            "instructions": (
                "Read both answers fully. Prefer the answer that is **correct**, then helpful."
            ),
            "deliverables": "One preference with a two-sentence rationale per pair.",
            "tier": "general",
            "pay_model": "hourly",
            "pay_rate": Decimal("24.00"),
            "time_commitment": "5-10 hours a week",
            "capacity": 40,
            "priority": 10,
        },
        "requires_all": ["general"],
        "languages": ["en"],
    },
    {
        "data": {
            "title": "Rate summaries for faithfulness",
            "description": (
                "Rate short AI summaries against their source for accuracy and completeness."
            ),
            "tier": "general",
            "pay_model": "per_task",
            "pay_rate": Decimal("21.00"),
            "task_minutes": 6,
            "time_commitment": "Any amount",
            "capacity": 100,
            "priority": 5,
        },
        "requires_all": ["general"],
        "languages": ["en"],
    },
    {
        "data": {
            "title": "Review AI-written Python",
            "description": "Find the bugs in functions written by a code model and propose fixes.",
            "tier": "coding",
            "pay_model": "hourly",
            "pay_rate": Decimal("45.00"),
            "time_commitment": "10 hours a week",
            "capacity": 25,
            "priority": 20,
        },
        "requires_all": ["general", "programming:python"],
        "languages": ["en"],
    },
    {
        "data": {
            "title": "Check worked solutions in calculus",
            "description": (
                "Check a model's step-by-step calculus solutions and mark the first wrong step."
            ),
            "tier": "stem",
            "pay_model": "hourly",
            "pay_rate": Decimal("42.00"),
            "capacity": 15,
            "priority": 15,
        },
        "requires_all": ["general", "mathematics"],
        "languages": ["en"],
    },
    {
        "data": {
            "title": "Financial advice safety review",
            "description": (
                "Judge whether AI answers to personal-finance questions are "
                "accurate and suitably hedged."
            ),
            "tier": "professional",
            "pay_model": "hourly",
            "pay_rate": Decimal("55.00"),
            "capacity": 10,
            "priority": 12,
        },
        "requires_all": ["general", "finance"],
        "languages": ["en"],
    },
]


class Command(BaseCommand):
    help = "Create demo projects in every tier, active (idempotent). DEBUG only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_projects is for development only (DEBUG is off).")
        staff = User.objects.filter(email="staff@demo.local").first()
        if staff is None:
            raise CommandError("Run demo_load first: the projects are created by its staff user.")
        with transaction.atomic():
            for spec in PROJECTS:
                if Project.objects.filter(title=spec["data"]["title"]).exists():
                    continue
                project = services.project_create(
                    actor=staff,
                    data=spec["data"],
                    requires_all=spec.get("requires_all", []),
                    requires_any=spec.get("requires_any", []),
                    languages=spec.get("languages", []),
                )
                services.project_transition(
                    project_id=project.pk, actor=staff, to_status="active", reason="Demo."
                )
                self.stdout.write(f"  project: {project.title}")
