"""Fair-pay watch: per-task projects whose measured time per task pays below the tier floor,
and top-ups that bring every affected contributor up to it."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Sum

from common.errors import InvalidInput, PermissionDenied
from common.money import quantize
from contributors.models import User
from marketplace.models import EarningEntry, Project
from marketplace.selectors import tier_floor_at
from marketplace.services.ledger import earning_write
from marketplace.services.projects import project_get_for_update, task_price

logger = logging.getLogger(__name__)


@dataclass
class FairPayRow:
    project: Project
    tasks: int
    median_minutes: Decimal
    task_price: Decimal
    effective_rate: Decimal
    floor: Decimal
    currency: str

    @property
    def below_floor(self) -> bool:
        return self.effective_rate < self.floor


def fair_pay_report(*, viewer: User) -> list[FairPayRow]:
    """Per-task projects with accepted tasks, their measured effective hourly rate against the
    floor, lowest first."""
    if not viewer.has_perm("marketplace.change_project"):
        raise PermissionDenied("Only staff see the fair-pay watch.")
    rows = []
    projects = Project.objects.filter(
        pay_model=Project.PayModel.PER_TASK, earnings__kind="task"
    ).distinct()
    for project in projects:
        seconds = list(
            EarningEntry.objects.filter(project=project, kind="task", active_seconds__gt=0)
            .exclude(state=EarningEntry.State.REVERSED)
            .values_list("active_seconds", flat=True)
        )
        if not seconds:
            continue
        median_minutes = Decimal(str(statistics.median(seconds))) / Decimal(60)
        price = task_price(project)
        effective = quantize(price / (median_minutes / Decimal(60)))
        floor = tier_floor_at(tier=project.tier)
        rows.append(
            FairPayRow(
                project=project,
                tasks=len(seconds),
                median_minutes=median_minutes.quantize(Decimal("0.1")),
                task_price=price,
                effective_rate=effective,
                floor=floor.amount,
                currency=floor.currency,
            )
        )
    return sorted(rows, key=lambda row: row.effective_rate - row.floor)


def fair_pay_top_up(*, project_id: int, actor: User, reason: str) -> list[EarningEntry]:
    """Top up every contributor of a per-task project whose task pay, over their own measured
    time, came to less than the tier floor: one adjustment each, with the reason.

    Running it again tops up only what new tasks left short: the shortfall is computed from all
    of a person's task pay and earlier top-ups, and each top-up's key names the last task it
    covers, under the project's row lock.
    """
    if not actor.has_perm("marketplace.adjust_earnings"):
        raise PermissionDenied("Only staff issue top-ups.")
    if not reason.strip():
        raise InvalidInput(fields={"reason": ["This field is required."]})
    created = []
    with transaction.atomic():
        project = project_get_for_update(project_id=project_id)
        floor = tier_floor_at(tier=project.tier)
        live = EarningEntry.objects.filter(project=project).exclude(
            state=EarningEntry.State.REVERSED
        )
        per_person = (
            live.filter(kind="task")
            .values("contributor")
            .annotate(seconds=Sum("active_seconds"), paid=Sum("amount"), last=Max("pk"))
            .order_by("contributor")
        )
        for row in per_person:
            topped = live.filter(
                kind="adjustment", source_type="fair_pay", contributor=row["contributor"]
            ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
            owed = quantize(floor.amount * Decimal(row["seconds"] or 0) / Decimal(3600))
            shortfall = owed - quantize(row["paid"]) - topped
            if shortfall <= 0:
                continue
            entry, was_created = earning_write(
                idempotency_key=f"fairpay:{project.pk}:{row['contributor']}:{row['last']}",
                contributor=User.objects.get(pk=row["contributor"]),
                project=project,
                kind=EarningEntry.Kind.ADJUSTMENT,
                amount=shortfall,
                currency=project.currency,
                work_date=EarningEntry.objects.get(pk=row["last"]).work_date,
                source_type="fair_pay",
                source_id=str(project.pk),
                reason=reason.strip(),
                created_by=actor,
            )
            if was_created:
                created.append(entry)
    logger.info("fair_pay.topped_up", extra={"project_id": project_id, "count": len(created)})
    return created
