"""Risk flags on the payouts of one chunk of a batch, each with its evidence.

Every flag is an aggregate query (grouped in SQL by person, week or project), so the rows in
Python are a few per payout, never one per entry. The chunk's entries are read from the build's
temporary table (PayoutChunkEntry), not from the ledger; what concerns the whole period (the
projects' typical task times, the rejections, the shared e-mails) is read once per build into
its BuildContext, keeping only the rows that can raise a flag.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Q,
    Sum,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Lower, RowNumber, TruncWeek

from contributors.models import ContributorProfile, QualityScore
from marketplace.models import (
    EarningEntry,
    Payout,
    PayoutBatch,
    PayoutChunkEntry,
    PayoutFlag,
    PayoutSettings,
)

Code = PayoutFlag.Code
HISTORY = 6  # earlier payouts a rise is measured against
PROJECT_WINDOW = timedelta(days=28)  # the last four weeks of task times give a project's median
MIN_TASKS = 5  # fewer tasks say nothing about a person's speed
MIN_GOLD = 5  # gold answers before an accuracy is trusted
MIN_REJECTED = 3
WORKED = ("time", "task", "review")


class Median(Aggregate):
    """The median on PostgreSQL; SQLite (the zero-setup default) has none and gets the mean."""

    function = "PERCENTILE_CONT"
    name = "Median"
    output_field = FloatField()
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, function="AVG", template="%(function)s(%(expressions)s)"
        )


class ChunkPayout(NamedTuple):
    """A payout just made, as the flags read it."""

    pk: int
    contributor_id: int
    currency: str
    amount: Decimal
    entries_count: int
    payout_email: str


@dataclass
class BuildContext:
    """What the flags of every chunk of one build share, read once per build."""

    project_medians: dict[int, float | None] = field(default_factory=dict)
    # person -> (tasks and reviews, tasks rejected) in the period, for people with enough
    # rejections to matter; None until read.
    rejections: dict[int, tuple[int, int]] | None = None
    # lower-cased payout e-mail -> the accounts giving it, for e-mails given by two or more.
    shared_emails: dict[str, list[int]] | None = None


def _by_person(payouts: dict[int, ChunkPayout]) -> dict[tuple[int, str], int]:
    return {(p.contributor_id, p.currency): pk for pk, p in payouts.items()}


def _hours() -> Coalesce:
    return Coalesce(
        Cast("hours", FloatField()),
        Cast("active_seconds", FloatField()) / 3600.0,
        0.0,
    )


def _hours_above_availability(payouts: dict[int, ChunkPayout]) -> list[PayoutFlag]:
    declared = dict(
        ContributorProfile.objects.filter(
            user_id__in={p.contributor_id for p in payouts.values()},
            weekly_availability_hours__isnull=False,
        ).values_list("user_id", "weekly_availability_hours")
    )
    if not declared:
        return []
    payout_of = _by_person(payouts)
    weeks = (
        PayoutChunkEntry.objects.filter(contributor_id__in=declared, kind__in=WORKED)
        .annotate(week=TruncWeek("work_date"))
        .values("contributor_id", "currency", "week")
        .annotate(hours=Sum(_hours()))
        .order_by("contributor_id", "currency", "week")
    )
    over: dict[int, list[dict[str, Any]]] = {}
    for row in weeks:
        payout_id = payout_of.get((row["contributor_id"], row["currency"]))
        if payout_id is not None and row["hours"] > declared[row["contributor_id"]]:
            over.setdefault(payout_id, []).append(
                {"week_of": str(row["week"])[:10], "hours": round(row["hours"], 2)}
            )
    flags = []
    for payout_id, rows in over.items():
        limit = declared[payouts[payout_id].contributor_id]
        worst = max(rows, key=lambda r: r["hours"])
        flags.append(
            PayoutFlag(
                payout_id=payout_id,
                code=Code.HOURS_ABOVE_AVAILABILITY,
                message=f"{worst['hours']} h logged in the week of {worst['week_of']}; "
                f"{limit} h a week declared.",
                evidence={"declared_weekly_hours": limit, "weeks_over": rows},
            )
        )
    return flags


def _task_time_outliers(
    payouts: dict[int, ChunkPayout],
    batch: PayoutBatch,
    settings: PayoutSettings,
    project_medians: dict[int, float | None],
) -> list[PayoutFlag]:
    payout_of = _by_person(payouts)
    mine = list(
        PayoutChunkEntry.objects.filter(kind="task", active_seconds__isnull=False)
        .values("contributor_id", "currency", "project_id")
        .annotate(median=Median("active_seconds"), tasks=Count("id"))
        .filter(tasks__gte=MIN_TASKS)
        .order_by()
    )
    missing = {row["project_id"] for row in mine} - set(project_medians)
    if missing:
        project_medians.update(dict.fromkeys(missing))
        project_medians.update(
            EarningEntry.objects.filter(
                project_id__in=missing,
                kind="task",
                active_seconds__isnull=False,
                created_at__gte=batch.cutoff - PROJECT_WINDOW,
                created_at__lt=batch.cutoff,
            )
            .values("project_id")
            .annotate(median=Median("active_seconds"))
            .order_by()
            .values_list("project_id", "median")
        )
    factor = float(settings.task_time_factor)
    found: dict[int, list[dict[str, Any]]] = {}
    for row in mine:
        payout_id = payout_of.get((row["contributor_id"], row["currency"]))
        typical = project_medians.get(row["project_id"])
        if payout_id is None or not typical or not row["median"]:
            continue
        ratio = row["median"] / typical
        if ratio <= 1 / factor or ratio >= factor:
            found.setdefault(payout_id, []).append(
                {
                    "project_id": row["project_id"],
                    "tasks": row["tasks"],
                    "median_seconds": round(row["median"], 1),
                    "project_median_seconds": round(typical, 1),
                    "ratio": round(ratio, 2),
                }
            )
    return [
        PayoutFlag(
            payout_id=payout_id,
            code=Code.TASK_TIME_OUTLIER,
            message="; ".join(
                f"project {r['project_id']}: median {r['median_seconds']:.0f} s a task against "
                f"the project's {r['project_median_seconds']:.0f} s ({r['ratio']}×)"
                for r in rows
            )[:300],
            evidence={"factor": factor, "projects": rows},
        )
        for payout_id, rows in found.items()
    ]


def _low_gold_accuracy(
    payouts: dict[int, ChunkPayout], settings: PayoutSettings
) -> list[PayoutFlag]:
    by_person: dict[int, list[int]] = {}
    for pk, payout in payouts.items():
        by_person.setdefault(payout.contributor_id, []).append(pk)
    scores = QualityScore.objects.filter(
        user_id__in=by_person,
        gold_answered__gte=MIN_GOLD,
        gold_mean__lt=float(settings.gold_accuracy_below),
    ).order_by("user_id", "track")
    low: dict[int, list[dict[str, Any]]] = {}
    for score in scores:
        low.setdefault(score.user_id, []).append(
            {
                "track": score.track,
                "gold_mean": round(score.gold_mean, 3),
                "interval_90": [round(score.gold_low or 0, 3), round(score.gold_high or 0, 3)],
                "gold_answered": score.gold_answered,
            }
        )
    return [
        PayoutFlag(
            payout_id=payout_id,
            code=Code.LOW_GOLD_ACCURACY,
            message="; ".join(
                f"{t['track']}: gold accuracy {t['gold_mean']:.0%} "
                f"over {t['gold_answered']} answers"
                for t in tracks
            )[:300],
            evidence={"below": float(settings.gold_accuracy_below), "tracks": tracks},
        )
        for person, tracks in low.items()
        for payout_id in by_person[person]
    ]


def _rejections(batch: PayoutBatch) -> dict[int, tuple[int, int]]:
    """(tasks and reviews, tasks rejected) in the period of each person with at least
    MIN_REJECTED rejections: one pass over the period's entries for the whole build."""
    rows = (
        EarningEntry.objects.filter(
            created_at__gte=batch.period.starts_at, created_at__lt=batch.cutoff
        )
        .values("contributor_id")
        .annotate(
            work=Count("id", filter=Q(kind__in=("task", "review"))),
            rejected=Count(
                "id",
                filter=Q(kind="reversal", created_by__isnull=True, reverses__kind="task"),
            ),
        )
        .filter(rejected__gte=MIN_REJECTED)
        .order_by()
        .values_list("contributor_id", "work", "rejected")
    )
    return {person: (work, rejected) for person, work, rejected in rows}


def _many_rejections(
    payouts: dict[int, ChunkPayout],
    batch: PayoutBatch,
    settings: PayoutSettings,
    context: BuildContext,
) -> list[PayoutFlag]:
    if context.rejections is None:
        context.rejections = _rejections(batch)
    flags = []
    limit = float(settings.rejected_share_above)
    for pk, payout in payouts.items():
        work, rejected = context.rejections.get(payout.contributor_id, (0, 0))
        if rejected < MIN_REJECTED or not work:
            continue
        share = rejected / work
        if share > limit:
            flags.append(
                PayoutFlag(
                    payout_id=pk,
                    code=Code.MANY_REJECTIONS,
                    message=f"{rejected} of {work} tasks this period were "
                    f"rejected in review ({share:.0%}).",
                    evidence={"rejected": rejected, "tasks": work, "above": limit},
                )
            )
    return flags


def _shared_emails() -> dict[str, list[int]]:
    """The payout e-mails given by two or more accounts, with those accounts."""
    profiles = ContributorProfile.objects.exclude(payout_email="").annotate(
        email=Lower("payout_email")
    )
    shared = profiles.values("email").annotate(accounts=Count("user_id")).filter(accounts__gt=1)
    holders: dict[str, list[int]] = {}
    for email, user_id in (
        profiles.filter(email__in=shared.values("email"))
        .order_by("user_id")
        .values_list("email", "user_id")
    ):
        holders.setdefault(email, []).append(user_id)
    return holders


def _shared_payout_email(
    payouts: dict[int, ChunkPayout], context: BuildContext
) -> list[PayoutFlag]:
    if context.shared_emails is None:
        context.shared_emails = _shared_emails()
    flags = []
    for pk, payout in payouts.items():
        others = [
            u
            for u in context.shared_emails.get(payout.payout_email.lower(), [])
            if u != payout.contributor_id
        ]
        if payout.payout_email and others:
            flags.append(
                PayoutFlag(
                    payout_id=pk,
                    code=Code.SHARED_PAYOUT_EMAIL,
                    message=f"The payout e-mail is also given by {len(others)} other "
                    f"account{'s' if len(others) > 1 else ''}.",
                    evidence={"payout_email": payout.payout_email, "other_accounts": others},
                )
            )
    return flags


def _history(
    payouts: dict[int, ChunkPayout], batch: PayoutBatch, settings: PayoutSettings
) -> list[PayoutFlag]:
    """Sharp rise, first payout, held before: against the person's earlier payouts."""
    people = {p.contributor_id for p in payouts.values()}
    earlier = (
        Payout.objects.filter(contributor_id__in=people, batch__cutoff__lt=batch.cutoff)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("contributor_id"), F("currency")],
                order_by=[F("batch__cutoff").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=HISTORY)
        .values_list("contributor_id", "currency", "state", "amount", "reason", "id")
    )
    history: dict[tuple[int, str], list[tuple[str, Decimal, str, int]]] = {}
    for person, currency, state, amount, reason, pk in earlier:
        history.setdefault((person, currency), []).append((state, amount, reason, pk))
    ever_paid = set(
        Payout.objects.filter(
            contributor_id__in=people,
            batch__cutoff__lt=batch.cutoff,
            state__in=("approved", "sent", "paid"),
        ).values_list("contributor_id", flat=True)
    )
    factor = settings.rise_factor
    flags = []
    for pk, payout in payouts.items():
        rows = history.get((payout.contributor_id, payout.currency), [])
        if payout.contributor_id not in ever_paid:
            flags.append(
                PayoutFlag(
                    payout_id=pk,
                    code=Code.FIRST_PAYOUT,
                    message="First payout to this account: none was approved before.",
                    evidence={
                        "earlier_payouts_approved": 0,
                        "earlier_payouts_held_or_rejected": sum(
                            state in ("held", "rejected") for state, *_rest in rows
                        ),
                    },
                )
            )
        if rows and rows[0][0] == Payout.State.HELD:
            flags.append(
                PayoutFlag(
                    payout_id=pk,
                    code=Code.HELD_BEFORE,
                    message=f"Held in the last batch: {rows[0][2]}"[:300],
                    evidence={"held_payout": rows[0][3], "reason": rows[0][2]},
                )
            )
        amounts = [
            amount for state, amount, _reason, _pk in rows if state in ("approved", "sent", "paid")
        ]
        if amounts:
            typical = statistics.median(amounts)
            if typical > 0 and payout.amount >= typical * factor:
                flags.append(
                    PayoutFlag(
                        payout_id=pk,
                        code=Code.SHARP_RISE,
                        message=f"{payout.amount} {payout.currency} against a median of "
                        f"{typical} over the last {len(amounts)} payouts "
                        f"({payout.amount / typical:.1f}×).",
                        evidence={
                            "amount": str(payout.amount),
                            "median_before": str(typical),
                            "payouts_before": [str(a) for a in amounts],
                            "factor": str(factor),
                        },
                    )
                )
    return flags


def flags_compute(
    *,
    batch: PayoutBatch,
    payouts: dict[int, ChunkPayout],
    settings: PayoutSettings,
    context: BuildContext,
) -> int:
    """Write the flags of these payouts (of the chunk whose entries are in the build's temporary
    table) and mark them flagged; returns flags made."""
    if not payouts:
        return 0
    flags = [
        *_hours_above_availability(payouts),
        *_task_time_outliers(payouts, batch, settings, context.project_medians),
        *_low_gold_accuracy(payouts, settings),
        *_many_rejections(payouts, batch, settings, context),
        *_shared_payout_email(payouts, context),
        *_history(payouts, batch, settings),
    ]
    PayoutFlag.objects.bulk_create(flags, ignore_conflicts=True, batch_size=1000)
    flagged = {flag.payout_id for flag in flags}
    if flagged:
        Payout.objects.filter(pk__in=flagged).update(flagged=True)
    return len(flags)
