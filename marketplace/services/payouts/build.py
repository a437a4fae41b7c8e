"""Building a closed period's payout batch: set-based, in chunks of contributors, idempotent.

Keys in the database make it idempotent, not checks in Python: one batch per period, one payout
per batch, contributor and currency, an entry in at most one live payout. Each chunk is one
transaction that also moves the batch's cursor, so a build killed halfway resumes after its
last finished chunk, and a chunk done twice inserts nothing the second time.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from common.errors import NotFound
from common.jobs import enqueue_on_commit
from common.money import quantize
from contributors.models import ContributorProfile, User
from marketplace.errors import PeriodOpen
from marketplace.models import (
    Payout,
    PayoutAudit,
    PayoutBatch,
    PayoutChunkEntry,
    PayoutSettings,
    PayPeriod,
)
from marketplace.models.payouts import CHUNK_TABLE_SQL
from marketplace.services.payouts.flags import BuildContext, ChunkPayout, flags_compute
from marketplace.services.payouts.periods import finance_check, payout_settings, periods_ensure

logger = logging.getLogger(__name__)


# The entries of the chunk's people that the batch pays: approved before the cut-off and in no
# live payout. They are read from the ledger once per chunk, into a temporary table
# (PayoutChunkEntry); the payouts, the links and the flags are made from that table.
CHUNK_FILL_SQL = """
INSERT INTO marketplace_payout_chunk_entry
    (id, contributor_id, currency, amount, kind, project_id, work_date, hours, active_seconds)
SELECT e.id, e.contributor_id, e.currency, e.amount, e.kind, e.project_id, e.work_date,
       e.hours, e.active_seconds
FROM marketplace_earningentry e
WHERE e.state = 'approved' AND e.approved_at < %(cutoff)s
  AND e.contributor_id > %(low)s AND e.contributor_id <= %(high)s
  AND NOT EXISTS (
      SELECT 1 FROM marketplace_payoutitem i WHERE i.entry_id = e.id AND i.released_at IS NULL)
"""

# One INSERT … SELECT links the chunk's entries to their payouts; ON CONFLICT DO NOTHING (the
# partial unique index on live items) leaves an entry already in a live payout where it is, and
# the count of rows made shows it.
LINK_SQL = """
INSERT INTO marketplace_payoutitem (payout_id, entry_id)
SELECT p.id, c.id
FROM marketplace_payout_chunk_entry c
JOIN marketplace_payout p
  ON p.batch_id = %(batch)s AND p.contributor_id = c.contributor_id AND p.currency = c.currency
WHERE p.contributor_id > %(low)s AND p.contributor_id <= %(high)s AND p.state = 'review'
ON CONFLICT DO NOTHING
"""


# On PostgreSQL the chunk's payouts are made in one statement from the temporary table: one row
# per person and currency at or above the minimum, with the payout e-mail of the moment; the
# columns not named take the values a new payout has (Payout's field defaults).
PAYOUTS_SQL = """
INSERT INTO marketplace_payout
    (batch_id, contributor_id, currency, amount, entries_count, payout_email, needs_two, state,
     flagged, reason, provider_reference, attempts, last_error, created_at)
SELECT %(batch)s, c.contributor_id, c.currency, SUM(c.amount), COUNT(*),
       COALESCE(MAX(pr.payout_email), ''), SUM(c.amount) >= %(four_eyes)s, 'review',
       false, '', '', 0, '', %(now)s
FROM marketplace_payout_chunk_entry c
LEFT JOIN contributors_contributorprofile pr ON pr.user_id = c.contributor_id
GROUP BY c.contributor_id, c.currency
HAVING SUM(c.amount) >= %(minimum)s
RETURNING id, contributor_id, currency, amount, entries_count, payout_email
"""


def _chunk_fill(batch: PayoutBatch, low: int, high: int) -> None:
    """Empty the build's temporary table (made on first use) and read the chunk's payable
    entries into it."""
    with connection.cursor() as cursor:
        cursor.execute(CHUNK_TABLE_SQL)
        if connection.vendor == "postgresql":
            # The statements of a chunk are short: compiling them to machine code costs more
            # than it saves.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("TRUNCATE marketplace_payout_chunk_entry")
        else:
            cursor.execute("DELETE FROM marketplace_payout_chunk_entry")
        cursor.execute(CHUNK_FILL_SQL, {"cutoff": batch.cutoff, "low": low, "high": high})
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE marketplace_payout_chunk_entry")


def _chunk_high(after: int) -> int | None:
    """The id closing the next chunk of at most PAYOUT_BUILD_CHUNK people after `after` (None:
    all done)."""
    size = django_settings.PAYOUT_BUILD_CHUNK
    ids = User.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)
    window = list(ids[size - 1 : size])
    if window:
        return window[0]
    return User.objects.filter(pk__gt=after).aggregate(last=Max("pk"))["last"]


def _links_check(batch: PayoutBatch, low: int, high: int, linked: int, expected: int) -> None:
    """The guard of the whole design: each payout is exactly the sum of the entries it links.
    Every payable entry read was linked (`linked` rows made against `expected`), so each payout's
    links are the entries its amount was summed from; otherwise the payouts that differ are
    found and the chunk is refused."""
    if linked == expected:
        return
    broken = list(
        Payout.objects.filter(
            batch=batch, contributor_id__gt=low, contributor_id__lte=high, state="review"
        )
        .annotate(
            linked=Sum("items__entry__amount", filter=Q(items__released_at__isnull=True)),
            links=Count("items", filter=Q(items__released_at__isnull=True)),
        )
        .exclude(linked=F("amount"), links=F("entries_count"))
        .values_list("pk", flat=True)[:10]
    )
    raise RuntimeError(
        f"Linked {linked} entries where {expected} were summed; payouts {broken} do not match "
        "the entries linked to them."
    )


def _payouts_make(batch: PayoutBatch) -> list[ChunkPayout]:
    """One payout per person and currency of the chunk whose balance reaches the minimum.

    No payout of these people exists in this batch yet: a chunk commits with the cursor that
    moves past it, so a chunk done again is one whose first run rolled back. Should one exist
    all the same, the unique key on (batch, person, currency) refuses the chunk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                PAYOUTS_SQL,
                {
                    "batch": batch.pk,
                    "minimum": batch.minimum_amount,
                    "four_eyes": batch.four_eyes_amount,
                    "now": timezone.now(),
                },
            )
            return [ChunkPayout(*row) for row in cursor.fetchall()]
    # Elsewhere (SQLite, the zero-setup default) through the ORM, whose decimals stay exact.
    balances = (
        PayoutChunkEntry.objects.values("contributor_id", "currency")
        .annotate(total=Sum("amount"), entries=Count("id"))
        .filter(total__gte=batch.minimum_amount)
        .order_by("contributor_id", "currency")
    )
    emails = dict(
        ContributorProfile.objects.filter(
            user_id__in=PayoutChunkEntry.objects.values("contributor_id")
        ).values_list("user_id", "payout_email")
    )
    made = Payout.objects.bulk_create(
        [
            Payout(
                batch=batch,
                contributor_id=row["contributor_id"],
                currency=row["currency"],
                amount=row["total"],
                entries_count=row["entries"],
                payout_email=emails.get(row["contributor_id"], ""),
                needs_two=row["total"] >= batch.four_eyes_amount,
            )
            for row in balances
        ],
        batch_size=1000,
    )
    return [
        ChunkPayout(p.pk, p.contributor_id, p.currency, p.amount, p.entries_count, p.payout_email)
        for p in made
    ]


def _build_chunk(
    batch: PayoutBatch, low: int, high: int, settings: PayoutSettings, context: BuildContext
) -> tuple[int, int, dict[str, Decimal]]:
    """Payouts, links and flags of the people with ids in (low, high]; returns (payouts, carried
    balances, carried amounts by currency). Runs inside the caller's transaction."""
    # The people's rows are locked, as every move of their entries into or out of a payout
    # (a reversal, a hold, a rejection) locks them first: what is summed here is what is linked.
    list(User.objects.select_for_update().filter(pk__gt=low, pk__lte=high).values_list("pk"))
    _chunk_fill(batch, low, high)
    balances = list(
        PayoutChunkEntry.objects.values("currency")
        .annotate(total=Sum("amount"), count=Count("contributor_id", distinct=True))
        .order_by("currency")
    )
    made = _payouts_make(batch)
    by_currency: dict[str, list[ChunkPayout]] = {}
    for payout in made:
        by_currency.setdefault(payout.currency, []).append(payout)
    carried: dict[str, Decimal] = {}
    carried_count = 0
    for row in balances:
        paid = by_currency.get(row["currency"], [])
        rest = row["total"] - sum((payout.amount for payout in paid), Decimal(0))
        if rest or row["count"] > len(paid):
            carried[row["currency"]] = rest
            carried_count += row["count"] - len(paid)
    with connection.cursor() as cursor:
        cursor.execute(LINK_SQL, {"batch": batch.pk, "low": low, "high": high})
        linked = cursor.rowcount
    _links_check(batch, low, high, linked, sum(payout.entries_count for payout in made))
    payouts = {payout.pk: payout for payout in made}
    flags_compute(batch=batch, payouts=payouts, settings=settings, context=context)
    return len(made), carried_count, carried


def _batch_open(period_id: int, actor: User | None) -> PayoutBatch:
    """The batch of a closed period whose earlier periods are all built, made if new (its
    cut-off, minimum and four-eyes amount fixed as they are now); refused otherwise."""
    if actor is not None:
        finance_check(actor)
    period = PayPeriod.objects.filter(pk=period_id).first()
    if period is None:
        raise NotFound(f"Pay period {period_id} does not exist.")
    if period.ends_at > timezone.now():
        raise PeriodOpen(
            f"The period {period} is open until {period.ends_at:%Y-%m-%d %H:%M %Z}; its batch is "
            "built after the cut-off."
        )
    earlier = (
        PayPeriod.objects.filter(ends_at__lt=period.ends_at)
        .exclude(batch__state=PayoutBatch.State.READY)
        .order_by("ends_at")
        .first()
    )
    if earlier is not None:
        raise PeriodOpen(
            f"Build the batch of the earlier period {earlier} first: periods are paid in order.",
            code="earlier_period_unbuilt",
        )
    settings = payout_settings()
    batch, _created = PayoutBatch.objects.get_or_create(
        period=period,
        defaults={
            "cutoff": period.ends_at,
            "minimum_amount": settings.minimum_amount,
            "four_eyes_amount": settings.four_eyes_amount,
            "built_by": actor,
        },
    )
    return batch


def batch_build_request(*, period_id: int, actor: User) -> PayoutBatch:
    """A finance admin's "build the batch": checked and its batch made now (so a refusal is
    immediate), built by a job on the payouts queue, as a large period takes longer than a
    request may. The batch shows its progress (cursor) meanwhile; if the job cannot be queued,
    the hourly build job finishes it."""
    from marketplace.tasks import payout_batch_build_task

    batch = _batch_open(period_id, actor)
    if batch.state != PayoutBatch.State.READY:
        enqueue_on_commit(payout_batch_build_task, batch.period_id)
    return batch


def batch_build(*, period_id: int, actor: User | None = None) -> PayoutBatch:
    """Build the batch of a closed period, or finish a build that stopped; a built one is
    returned as it is. `actor` None is the beat job."""
    batch = _batch_open(period_id, actor)
    if batch.state == PayoutBatch.State.READY:
        return batch
    settings = payout_settings()
    started = time.monotonic()
    context = BuildContext()
    while True:
        with transaction.atomic():
            # One builder at a time per batch; a second one waits here, then goes on after it.
            locked = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.state == PayoutBatch.State.READY:
                return locked
            high = _chunk_high(locked.cursor)
            if high is None:
                locked.state = PayoutBatch.State.READY
                locked.built_at = timezone.now()
                locked.build_seconds = round(
                    (locked.built_at - locked.started_at).total_seconds(), 3
                )
                locked.save(update_fields=["state", "built_at", "build_seconds"])
                totals = payouts_totals(locked)
                PayoutAudit.objects.create(
                    actor=actor,
                    action="batch_built",
                    batch=locked,
                    data={
                        "payouts": totals["payouts"],
                        "flagged": totals["flagged"],
                        "amounts": totals["amounts"],
                        "carried": locked.carried_count,
                    },
                )
                logger.info(
                    "payouts.batch_built",
                    extra={
                        "batch_id": locked.pk,
                        "payouts": totals["payouts"],
                        "seconds": round(time.monotonic() - started, 3),
                    },
                )
                return locked
            _made, carried, carried_amounts = _build_chunk(
                locked, locked.cursor, high, settings, context
            )
            locked.cursor = high
            locked.carried_count += carried
            for currency, amount in carried_amounts.items():
                locked.carried[currency] = str(
                    quantize(Decimal(locked.carried.get(currency, "0")) + amount)
                )
            locked.save(update_fields=["cursor", "carried_count", "carried"])


def payouts_totals(batch: PayoutBatch) -> dict[str, object]:
    rows = (
        Payout.objects.filter(batch=batch)
        .values("currency")
        .annotate(
            total=Sum("amount"), count=Count("id"), flagged=Count("id", filter=Q(flagged=True))
        )
        .order_by("currency")
    )
    amounts = {row["currency"]: str(row["total"]) for row in rows}
    return {
        "payouts": sum(row["count"] for row in rows),
        "flagged": sum(row["flagged"] for row in rows),
        "amounts": amounts,
    }


def batches_build_due() -> list[int]:
    """The beat job: make periods up to now, then build every closed period's batch not built
    yet (or finish one that stopped). Returns the batches it built or finished."""
    periods_ensure()
    built = []
    due = PayPeriod.objects.filter(ends_at__lte=timezone.now()).exclude(
        batch__state=PayoutBatch.State.READY
    )
    for period in due.order_by("ends_at"):
        built.append(batch_build(period_id=period.pk).pk)
    return built
