"""Reads of the marketplace: rates in force, eligibility, the dashboard, earnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from common.errors import NotFound
from common.money import quantize
from contributors.models import StandingChange, User
from contributors.qualifications import PROFESSIONS, qualification_label, unlock_hints
from contributors.selectors import (
    credential_kinds_for_user,
    qualification_codes_for_user,
    standing_at,
)
from marketplace.models import (
    EarningEntry,
    Membership,
    MultiplierRate,
    Project,
    ProjectRequirement,
    TierFloor,
    WorkSession,
)

PROJECT_MANAGE_PERMISSION = "marketplace.change_project"


def tier_floor_at(*, tier: str, at: datetime | None = None) -> TierFloor:
    """The floor of a tier in force at a moment (now by default)."""
    floor = (
        TierFloor.objects.filter(tier=tier, effective_from__lte=at or timezone.now())
        .order_by("-effective_from", "-id")
        .first()
    )
    if floor is None:
        raise NotFound(f"Tier {tier!r} has no floor rate.")
    return floor


def tier_floors_current() -> dict[str, TierFloor]:
    now = timezone.now()
    floors: dict[str, TierFloor] = {}
    for floor in TierFloor.objects.filter(effective_from__lte=now).order_by(
        "tier", "-effective_from", "-id"
    ):
        floors.setdefault(floor.tier, floor)
    return floors


def multiplier_for(*, standing: str, at: datetime | None = None) -> Decimal:
    rate = (
        MultiplierRate.objects.filter(standing=standing, effective_from__lte=at or timezone.now())
        .order_by("-effective_from", "-id")
        .first()
    )
    return rate.multiplier if rate else Decimal("1.00")


# The rate in force for the standing in force (standard until one is set), both at a moment.
# Raw SQL: it runs on every paid submit, and the ORM's version cost more to build than to run.
_MULTIPLIER_SQL = """
SELECT r.id, r.multiplier FROM marketplace_multiplierrate r
WHERE r.effective_from <= %(at)s AND r.standing = COALESCE(
    (SELECT s.standing FROM contributors_standingchange s
     WHERE s.user_id = %(user)s AND s.effective_at <= %(at)s
     ORDER BY s.effective_at DESC, s.id DESC LIMIT 1),
    %(standard)s)
ORDER BY r.effective_from DESC, r.id DESC
LIMIT 1
"""


def multiplier_for_user(*, user: User, at: datetime | None = None) -> Decimal:
    """The pay multiplier in force for a person at a moment: their standing's, at that time.

    One query (it runs on every paid submit): the standing is a subquery of the rate's.
    """
    params = {
        "user": user.pk,
        "at": connection.ops.adapt_datetimefield_value(at or timezone.now()),
        "standard": StandingChange.Standing.STANDARD,
    }
    found = list(MultiplierRate.objects.raw(_MULTIPLIER_SQL, params))
    return found[0].multiplier if found else Decimal("1.00")


@dataclass(frozen=True)
class Qualifications:
    """What a person may work on: live qualifications, with professional ones counted only
    when a licence of the matching kind is declared."""

    held: frozenset[str]
    usable: frozenset[str]

    @property
    def missing_licences(self) -> frozenset[str]:
        return self.held - self.usable


def qualifications_for(*, user: User) -> Qualifications:
    held = frozenset(qualification_codes_for_user(user=user))
    kinds = credential_kinds_for_user(user=user)
    usable = frozenset(code for code in held if code not in PROFESSIONS or code in kinds)
    return Qualifications(held=held, usable=usable)


def _eligible_filter(usable: frozenset[str]) -> Q:
    """Projects whose every all-of requirement, and one any-of requirement if any, is usable."""
    missing_all = ProjectRequirement.objects.filter(
        project=OuterRef("pk"), mode=ProjectRequirement.Mode.ALL
    ).exclude(code__in=usable)
    any_exists = ProjectRequirement.objects.filter(
        project=OuterRef("pk"), mode=ProjectRequirement.Mode.ANY
    )
    any_met = any_exists.filter(code__in=usable)
    return ~Exists(missing_all) & (~Exists(any_exists) | Exists(any_met))


def projects_open() -> QuerySet[Project]:
    """Active projects within their dates."""
    today = timezone.localdate()
    return Project.objects.filter(status=Project.Status.ACTIVE).filter(
        Q(starts_on__isnull=True) | Q(starts_on__lte=today),
        Q(ends_on__isnull=True) | Q(ends_on__gte=today),
    )


@dataclass
class ProjectCard:
    project: Project
    requirements_all: list[str]
    requirements_any: list[str]
    effective_rate: Decimal
    seats_left: int
    joined: bool
    work_left: int | None = None
    unlock: list[dict[str, str]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def requirement_labels(self) -> str:
        """The requirements in words: every all-of one, then "one of" the any-of ones."""
        parts = [qualification_label(code) for code in self.requirements_all]
        if self.requirements_any:
            parts.append(
                "one of " + " / ".join(qualification_label(code) for code in self.requirements_any)
            )
        return ", ".join(parts) or "none"

    @property
    def effective_task_price(self) -> Decimal | None:
        """What one task pays this person, for per-task projects."""
        if self.project.pay_model != Project.PayModel.PER_TASK or not self.project.task_minutes:
            return None
        return quantize(self.effective_rate * Decimal(self.project.task_minutes) / Decimal(60))


# Apps that hold the work itself (evaluations) add what a person can do on a project's page:
# a function (user, project, is_member) -> [{"label", "url", "post": bool, "primary": bool}].
ProjectActionProvider = Any
_project_action_providers: list[ProjectActionProvider] = []


def project_action_provider(provider: ProjectActionProvider) -> ProjectActionProvider:
    if provider not in _project_action_providers:
        _project_action_providers.append(provider)
    return provider


def project_actions(*, user: User, project: Project, is_member: bool) -> list[dict[str, Any]]:
    return [
        action
        for provider in _project_action_providers
        for action in provider(user, project, is_member)
    ]


# Apps that hold the work itself (evaluations) say how much is left for a person on projects.
WorkLeftProvider = Any
_work_left_providers: list[WorkLeftProvider] = []


def work_left_provider(provider: WorkLeftProvider) -> WorkLeftProvider:
    if provider not in _work_left_providers:
        _work_left_providers.append(provider)
    return provider


@dataclass
class Dashboard:
    available: list[ProjectCard]
    available_count: int
    locked: list[ProjectCard]
    locked_count: int
    joined: list[ProjectCard]
    multiplier: Decimal
    standing: str


def _cards(
    projects: list[Project],
    *,
    multiplier: Decimal,
    joined_ids: set[int],
    quals: Qualifications | None = None,
    user: User | None = None,
) -> list[ProjectCard]:
    cards = []
    for project in projects:
        reqs = list(project.requirements.all())
        card = ProjectCard(
            project=project,
            requirements_all=[r.code for r in reqs if r.mode == ProjectRequirement.Mode.ALL],
            requirements_any=[r.code for r in reqs if r.mode == ProjectRequirement.Mode.ANY],
            effective_rate=quantize(project.pay_rate * multiplier),
            seats_left=max(0, project.capacity - project.members_now),
            joined=project.pk in joined_ids,
        )
        cards.append(card)
    if quals is not None:
        _explain_locks(cards, quals)
    if user is not None and cards:
        for provider in _work_left_providers:
            counts = provider(user, [card.project for card in cards])
            for card in cards:
                card.work_left = counts.get(card.project.pk, card.work_left)
    return cards


def _explain_locks(cards: list[ProjectCard], quals: Qualifications) -> None:
    """Why each locked project is locked, and what would unlock it."""
    needed: set[str] = set()
    for card in cards:
        missing = [code for code in card.requirements_all if code not in quals.usable]
        if card.requirements_any and not set(card.requirements_any) & quals.usable:
            missing.append(" or ".join(card.requirements_any))
        for code in [
            c for c in card.requirements_all + card.requirements_any if c not in quals.usable
        ]:
            needed.add(code)
        card.reasons = []
        for item in missing:
            codes = item.split(" or ")
            licence = [code for code in codes if code in quals.missing_licences]
            if licence:
                card.reasons.append(
                    f"Declare a {PROFESSIONS[licence[0]].lower()} licence in your profile."
                )
            else:
                card.reasons.append(
                    "Needs " + " or ".join(qualification_label(code) for code in codes) + "."
                )
    hints = unlock_hints(needed)
    for card in cards:
        seen = set()
        for code in card.requirements_all + card.requirements_any:
            hint = hints.get(code)
            if (
                code not in quals.usable
                and code not in quals.missing_licences
                and hint
                and hint["url"] not in seen
            ):
                seen.add(hint["url"])
                card.unlock.append(hint)


def _members_now() -> Subquery:
    """Live members of the outer project, counted for the rows shown (after LIMIT)."""
    return Subquery(
        Membership.objects.filter(project=OuterRef("pk"), left_at__isnull=True)
        .order_by()
        .values("project")
        .annotate(count=Count("pk"))
        .values("count"),
        output_field=IntegerField(),
    )


def _for_cards(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Projects with what a card shows: live member count, requirements, languages."""
    return projects.annotate(members_now=Coalesce(_members_now(), 0)).prefetch_related(
        "requirements", "languages"
    )


def dashboard_for(
    *,
    user: User,
    tier: str | None = None,
    language: str | None = None,
    pay_model: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> Dashboard:
    """The contributor dashboard: projects open to this person, sorted by priority then rate;
    projects still locked, with what would unlock them; and the projects they joined.

    A fixed number of queries whatever the number of projects: eligibility is one SQL filter.
    """
    quals = qualifications_for(user=user)
    standing = standing_at(user=user)
    multiplier = multiplier_for(standing=standing)
    base = projects_open()
    if tier:
        base = base.filter(tier=tier)
    if pay_model:
        base = base.filter(pay_model=pay_model)
    if language:
        base = base.filter(languages__language=language)
    joined_ids = set(
        Membership.objects.filter(user=user, left_at__isnull=True).values_list(
            "project_id", flat=True
        )
    )
    order = ("-priority", "-pay_rate", "id")
    eligible = base.filter(_eligible_filter(quals.usable)).exclude(pk__in=joined_ids)
    locked = base.exclude(_eligible_filter(quals.usable))
    joined = Project.objects.filter(pk__in=joined_ids).order_by(*order)
    return Dashboard(
        available=_cards(
            list(_for_cards(eligible.order_by(*order))[offset : offset + limit]),
            multiplier=multiplier,
            joined_ids=joined_ids,
            user=user,
        ),
        available_count=eligible.count(),
        locked=_cards(
            list(_for_cards(locked.order_by(*order))[:limit]),
            multiplier=multiplier,
            joined_ids=joined_ids,
            quals=quals,
        ),
        locked_count=locked.count(),
        joined=_cards(
            list(_for_cards(joined)), multiplier=multiplier, joined_ids=joined_ids, user=user
        ),
        multiplier=multiplier,
        standing=standing,
    )


def project_is_eligible(*, project: Project, user: User) -> tuple[bool, list[str]]:
    """Whether a person qualifies for a project, and if not, why (in words for them)."""
    quals = qualifications_for(user=user)
    ok = Project.objects.filter(pk=project.pk).filter(_eligible_filter(quals.usable)).exists()
    if ok:
        return True, []
    card = ProjectCard(
        project=project,
        requirements_all=[r.code for r in project.requirements.all() if r.mode == "all"],
        requirements_any=[r.code for r in project.requirements.all() if r.mode == "any"],
        effective_rate=Decimal(0),
        seats_left=0,
        joined=False,
    )
    _explain_locks([card], quals)
    return False, card.reasons


def projects_eligible_for(*, user: User) -> QuerySet[Project]:
    """The projects a person's usable qualifications meet (all statuses): a reviewer reviews
    only work of projects they qualify for."""
    return Project.objects.filter(_eligible_filter(qualifications_for(user=user).usable))


def project_track(*, project: Project) -> str:
    """The track a project's work counts in, for quality standings: its most specific all-of
    requirement (anything but `general`), else its first any-of one, else `general`."""
    codes = sorted(
        (requirement.mode, requirement.code) for requirement in project.requirements.all()
    )
    specific = [code for mode, code in codes if mode == "all" and code != "general"]
    either = [code for mode, code in codes if mode == "any"]
    return (specific or either or ["general"])[0]


def project_get_for_viewer(*, project_id: int, viewer: User) -> Project:
    """A project: staff see any; others see open ones, and ones they belong to."""
    projects = _for_cards(Project.objects.all())
    if not viewer.has_perm(PROJECT_MANAGE_PERMISSION):
        member_of = Membership.objects.filter(user=viewer, left_at__isnull=True).values(
            "project_id"
        )
        projects = projects.filter(
            Q(pk__in=projects_open().values("pk")) | Q(pk__in=member_of)
        ).exclude(status=Project.Status.DRAFT)
    try:
        return projects.get(pk=project_id)
    except Project.DoesNotExist as error:
        raise NotFound(f"Project {project_id} does not exist.") from error


def project_list_for_staff(*, viewer: User, status: str | None = None) -> QuerySet[Project]:
    if not viewer.has_perm(PROJECT_MANAGE_PERMISSION):
        raise NotFound("Not found.")
    projects = _for_cards(Project.objects.all())
    return projects.filter(status=status) if status else projects


def membership_live(*, user: User, project: Project) -> Membership | None:
    return Membership.objects.filter(user=user, project=project, left_at__isnull=True).first()


def session_open_for(*, user: User) -> WorkSession | None:
    return (
        WorkSession.objects.filter(user=user, ended_at__isnull=True)
        .select_related("project")
        .first()
    )


def sessions_for(*, user: User, project: Project | None = None) -> QuerySet[WorkSession]:
    sessions = WorkSession.objects.filter(user=user).select_related("project")
    return sessions.filter(project=project) if project else sessions


def earnings_for(*, user: User) -> QuerySet[EarningEntry]:
    return EarningEntry.objects.filter(contributor=user).select_related("project")


BALANCE_STATES = ("pending", "approved", "paid")


@dataclass
class EarningsSummary:
    totals: dict[str, Decimal]
    by_project: list[dict[str, Any]]
    by_week: list[dict[str, Any]]
    currency: str


def earnings_summary(*, user: User, weeks: int = 12) -> EarningsSummary:
    """Totals pending, approved and paid; by project; and by week of work, the last `weeks`."""
    entries = EarningEntry.objects.filter(contributor=user, state__in=BALANCE_STATES)
    totals = {state: Decimal("0.00") for state in BALANCE_STATES}
    for row in entries.values("state").annotate(total=Sum("amount")):
        totals[row["state"]] = quantize(row["total"])
    by_project = [
        {
            "project_id": row["project_id"],
            "project": row["project__title"] or "General",
            "pending": quantize(row["pending"] or 0),
            "approved": quantize(row["approved"] or 0),
            "paid": quantize(row["paid"] or 0),
        }
        for row in entries.values("project_id", "project__title")
        .annotate(
            pending=Sum("amount", filter=Q(state="pending")),
            approved=Sum("amount", filter=Q(state="approved")),
            paid=Sum("amount", filter=Q(state="paid")),
        )
        .order_by("project__title")
    ]
    today = timezone.localdate()
    first_week = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    found = {
        row["week"]: quantize(row["total"])
        for row in entries.filter(work_date__gte=first_week)
        .annotate(week=TruncWeek("work_date"))
        .values("week")
        .annotate(total=Sum("amount"))
    }
    by_week = []
    for index in range(weeks):
        start = first_week + timedelta(weeks=index)
        total = next(
            (value for week, value in found.items() if _as_date(week) == start), Decimal("0.00")
        )
        by_week.append({"week": start, "total": total})
    currency = entries.values_list("currency", flat=True).first() or "USD"
    return EarningsSummary(totals=totals, by_project=by_project, by_week=by_week, currency=currency)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
