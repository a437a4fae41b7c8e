"""Load demo users in every role, and print how to log in as each. Development only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contributors import services
from contributors.models import ContributorProfile, User
from contributors.roles import Role

# The only fixed passwords in the project; this command refuses to run outside DEBUG.
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105

PROFILE = {
    "education_level": "master",
    "years_experience": 6,
    "programming_languages": ["python", "javascript", "sql"],
    "expertise_areas": ["software", "writing", "chatbot_evaluation"],
    "country": "DE",
    "time_zone": "Europe/Berlin",
    "weekly_availability_hours": 20,
    "degrees": [
        {"level": "master", "field": "Computer Science", "institution": "TU Berlin", "year": 2018}
    ],
    "credentials": [],
    "languages": [
        {"language": "en", "proficiency": "fluent"},
        {"language": "de", "proficiency": "native"},
    ],
}

# Demo qualifications: the reviewer grades every track that has an assessment.
QUALIFICATIONS = {
    "reviewer@demo.local": [
        "general",
        "programming:python",
        "programming:javascript",
        "mathematics",
        "finance",
    ],
    "contributor@demo.local": ["general"],
    "expert@demo.local": ["general", "programming:python", "mathematics", "finance"],
    **{f"crowd{n}@demo.local": ["general"] for n in (1, 2, 3)},
}

USERS: list[dict[str, Any]] = [
    {"email": "admin@demo.local", "full_name": "Ada Admin", "roles": (), "superuser": True},
    {"email": "staff@demo.local", "full_name": "Sam Staff", "roles": (Role.STAFF,), "staff": True},
    {
        "email": "finance@demo.local",
        "full_name": "Fay Finance",
        "roles": (Role.FINANCE_ADMIN,),
        "staff": True,
    },
    {
        "email": "reviewer@demo.local",
        "full_name": "Rita Reviewer",
        "roles": (Role.CONTRIBUTOR, Role.REVIEWER),
        "journey": "active",
    },
    {
        "email": "expert@demo.local",
        "full_name": "Eve Expert",
        "roles": (Role.CONTRIBUTOR, Role.EXPERT_REVIEWER),
        "journey": "active",
    },
    {
        "email": "contributor@demo.local",
        "full_name": "Carl Contributor",
        "roles": (Role.CONTRIBUTOR,),
        "journey": "active",
    },
    *(
        {
            "email": f"crowd{n}@demo.local",
            "full_name": name,
            "roles": (Role.CONTRIBUTOR,),
            "journey": "active",
        }
        for n, name in ((1, "Cleo Crowd"), (2, "Dev Crowd"), (3, "Ines Crowd"))
    ),
    {
        "email": "assessing@demo.local",
        "full_name": "Asha Assessing",
        "roles": (Role.CONTRIBUTOR,),
        "journey": "assessing",
    },
    {
        "email": "applicant@demo.local",
        "full_name": "Abe Applicant",
        "roles": (Role.CONTRIBUTOR,),
        "journey": "verified",
    },
]


class Command(BaseCommand):
    help = "Create demo users in every role (idempotent) and print their log-ins. DEBUG only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_load is for development only (DEBUG is off); it sets known passwords."
            )
        with transaction.atomic():
            staff = self._user(USERS[1])
            for spec in USERS:
                self._user(spec, decided_by=staff)
        self.stdout.write(f"\nDemo users (password for all: {DEMO_PASSWORD})\n")
        for spec in USERS:
            roles = ", ".join(spec["roles"]) or "superuser"
            journey = f" — {spec['journey']}" if "journey" in spec else ""
            self.stdout.write(f"  {spec['email']:<26} {roles}{journey}")
        self.stdout.write("")

    def _user(self, spec: dict[str, Any], decided_by: User | None = None) -> User:
        user = User.objects.filter(email=spec["email"]).first()
        if user is None:
            user = services.user_create(
                email=spec["email"],
                password=DEMO_PASSWORD,
                full_name=spec["full_name"],
                roles=spec["roles"],
                is_staff=spec.get("staff", False) or spec.get("superuser", False),
                email_verified=True,
            )
            if spec.get("superuser"):
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
        else:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        journey = spec.get("journey")
        profile = getattr(user, "profile", None)
        if journey and profile is not None and decided_by is not None:
            if profile.application_submitted_at is None:
                data = {**PROFILE, "payout_email": user.email}
                services.profile_update(profile_id=profile.pk, actor=user, data=data)
                if journey in ("assessing", "active"):
                    services.application_submit(profile_id=profile.pk, actor=user)
            profile.refresh_from_db()
            if journey == "active" and profile.status == ContributorProfile.Status.ASSESSING:
                services.contributor_decide(
                    profile_id=profile.pk,
                    approved=True,
                    actor=decided_by,
                    reason="Demo data: approved.",
                )
        if decided_by is not None:
            for code in QUALIFICATIONS.get(user.email, []):
                services.qualification_grant(
                    user=user, code=code, source="demo data", granted_by=decided_by
                )
        return user
