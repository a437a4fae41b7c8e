"""Pay periods, payout batches and their review: what the ledger's approved earnings become.

A closed period's batch holds one payout per contributor and currency; each payout is linked, by
`PayoutItem`, to exactly the ledger entries it pays. The database keeps the rules: one batch per
period, one payout per contributor and currency in a batch, an entry in at most one live payout,
two distinct approvers above the four-eyes amount, nobody approving their own payout, and an
append-only audit log.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from contributors.validators import validate_time_zone
from marketplace.models.work import USER, AppendOnly, EarningEntry


class PayoutSettings(models.Model):
    """How pay periods are cut and payouts reviewed. One row (pk 1); finance admins edit it.

    A change applies to periods made after it; periods already made keep their bounds.
    """

    class Length(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every two weeks"
        MONTHLY = "monthly", "Monthly"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    length = models.CharField(max_length=10, choices=Length, default=Length.WEEKLY)
    cutoff_weekday = models.PositiveSmallIntegerField(
        "cut-off weekday",
        choices=Weekday,
        default=Weekday.MONDAY,
        help_text="Weekly and two-weekly periods end on this day.",
    )
    cutoff_day = models.PositiveSmallIntegerField(
        "cut-off day of the month",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Monthly periods end on this day.",
    )
    cutoff_time = models.TimeField("cut-off time", default="00:00")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    minimum_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Smaller balances are carried to the next period.",
    )
    four_eyes_amount = models.DecimalField(
        "four-eyes amount",
        max_digits=12,
        decimal_places=2,
        default=Decimal("1000.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Payouts of this amount or more need a second finance admin's approval.",
    )
    rise_factor = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("3.00"),
        validators=[MinValueValidator(Decimal("1.01"))],
        help_text="Flag a payout this many times the median of the contributor's last payouts.",
    )
    task_time_factor = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("4.00"),
        validators=[MinValueValidator(Decimal("1.01"))],
        help_text="Flag a median time per task this many times faster or slower than the "
        "project's median.",
    )
    gold_accuracy_below = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.60"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    rejected_share_above = models.DecimalField(
        "rejected share above",
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.20"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Flag when more than this share of the period's paid work was reversed.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "payout settings"
        verbose_name_plural = "payout settings"
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pk=1), name="payout_settings_single_row"),
            models.CheckConstraint(
                condition=Q(cutoff_day__gte=1, cutoff_day__lte=28), name="cutoff_day_1_to_28"
            ),
            models.CheckConstraint(condition=Q(cutoff_weekday__lte=6), name="cutoff_weekday_0_6"),
            models.CheckConstraint(condition=Q(minimum_amount__gt=0), name="minimum_positive"),
            models.CheckConstraint(
                condition=Q(four_eyes_amount__gt=0), name="four_eyes_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_length_display()} pay periods ({self.time_zone})"


class PayPeriod(models.Model):
    """[starts_at, ends_at): earnings approved before `ends_at` (the cut-off) are paid in its
    batch."""

    starts_at = models.DateTimeField(unique=True)
    ends_at = models.DateTimeField(unique=True)
    time_zone = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-starts_at",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="period_forward"),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"

    @property
    def is_closed(self) -> bool:
        return self.ends_at <= timezone.now()


class PayoutBatch(models.Model):
    """The payouts of one closed period, built once (the period is the key).

    Built in chunks of contributors, each in its own transaction that also moves `cursor`, so
    a build killed halfway resumes where it stopped; unique keys make a repeated chunk a no-op.
    """

    class State(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready for review"

    period = models.OneToOneField(PayPeriod, on_delete=models.PROTECT, related_name="batch")
    state = models.CharField(max_length=10, choices=State, default=State.BUILDING)
    cursor = models.BigIntegerField(
        default=0, help_text="Contributors up to this id are built (while building)."
    )
    cutoff = models.DateTimeField(help_text="The period's cut-off, copied.")
    minimum_amount = models.DecimalField(max_digits=12, decimal_places=2)
    four_eyes_amount = models.DecimalField(max_digits=12, decimal_places=2)
    started_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    built_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    build_seconds = models.FloatField(null=True, blank=True)
    carried_count = models.PositiveIntegerField(
        default=0, help_text="Balances under the minimum, carried to the next period."
    )
    carried = models.JSONField(
        default=dict, blank=True, help_text="Carried amounts by currency, as strings."
    )

    class Meta:
        ordering = ("-cutoff",)
        verbose_name_plural = "payout batches"
        permissions: ClassVar = [
            ("review_payouts", "Can build, approve, hold, reject and pay payouts"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(state__in=["building", "ready"]), name="batch_state_known"
            ),
            models.CheckConstraint(
                condition=Q(state="building") | Q(built_at__isnull=False),
                name="ready_batch_has_built_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Batch of {self.period}"


class PayoutDispatch(models.Model):
    """One hand-over of approved payouts to a payment provider (for the CSV provider, a file)."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="dispatches")
    provider = models.CharField(max_length=40)
    reference = models.CharField(max_length=100, unique=True)
    file = models.FileField(upload_to="payouts/", blank=True)
    payouts_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        verbose_name_plural = "payout dispatches"

    def __str__(self) -> str:
        return self.reference


class Payout(models.Model):
    """What one contributor is paid in one currency from one batch.

    review → (awaiting_second →) approved → sent → paid, or held / rejected (its entries are
    released: a hold carries them to the next batch, a rejection returns or reverses them).
    """

    class State(models.TextChoices):
        REVIEW = "review", "In review"
        AWAITING_SECOND = "awaiting_second", "Awaiting second approval"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        HELD = "held", "Held"
        REJECTED = "rejected", "Rejected"

    LIVE_STATES: ClassVar = ("review", "awaiting_second", "approved", "sent", "paid")

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    contributor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    entries_count = models.PositiveIntegerField()
    payout_email = models.EmailField(blank=True, help_text="The contributor's, at build.")
    state = models.CharField(max_length=20, choices=State, default=State.REVIEW, db_index=True)
    flagged = models.BooleanField(default=False, db_index=True)
    needs_two = models.BooleanField(
        default=False, help_text="At or above the four-eyes amount: two finance admins approve."
    )
    first_approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who held or rejected it.",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was held or rejected.")
    dispatch = models.ForeignKey(
        PayoutDispatch, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )
    provider_reference = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-batch__cutoff", "contributor_id", "currency")
        indexes: ClassVar = [
            models.Index(fields=["contributor", "state"], name="payout_contributor_state"),
            models.Index(fields=["batch", "state", "flagged"], name="payout_batch_review"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["batch", "contributor", "currency"], name="one_payout_per_batch_person"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "review",
                        "awaiting_second",
                        "approved",
                        "sent",
                        "paid",
                        "held",
                        "rejected",
                    ]
                ),
                name="payout_state_known",
            ),
            # Nobody approves their own payout.
            models.CheckConstraint(
                condition=~Q(first_approved_by=F("contributor")) & ~Q(approved_by=F("contributor")),
                name="payout_not_self_approved",
            ),
            # Approved (and later) payouts name their approver; four eyes name two, distinct.
            models.CheckConstraint(
                condition=~Q(state__in=["approved", "sent", "paid"])
                | (
                    Q(approved_by__isnull=False, needs_two=False)
                    | Q(
                        approved_by__isnull=False,
                        first_approved_by__isnull=False,
                        needs_two=True,
                    )
                    & ~Q(approved_by=F("first_approved_by"))
                ),
                name="payout_approved_by_enough_people",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["held", "rejected"])
                | Q(decided_by__isnull=False) & ~Q(reason=""),
                name="payout_hold_or_reject_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="paid") | Q(paid_at__isnull=False), name="payout_paid_has_date"
            ),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk}: {self.amount} {self.currency} ({self.state})"


class PayoutItem(models.Model):
    """The link of one ledger entry to the payout that pays it.

    `released_at` is set when the payout is held or rejected: the entry is free again. An entry
    is in at most one live (unreleased) item; the partial unique index holds it.
    """

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="items")
    # No index of its own: the partial unique index below serves the lookups by entry, which
    # all ask for the live item (and a build inserts millions of these rows). No foreign key
    # constraint in the database either: its check at each build's commit locks every linked
    # entry row (FOR KEY SHARE), a write per entry, and guards against nothing that can happen.
    # Entries are never deleted (PostgreSQL refuses it: migration 0002's guard), and items are
    # only made by the build's INSERT … SELECT from the ledger itself; the reconciliation
    # (services.payouts.reconcile) would report an item whose entry is missing.
    entry = models.ForeignKey(
        EarningEntry,
        on_delete=models.PROTECT,
        related_name="payout_items",
        db_index=False,
        db_constraint=False,
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(released_at__isnull=True),
                name="entry_in_one_live_payout",
            ),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} in payout {self.payout_id}"


class PayoutChunkEntry(models.Model):
    """A payable ledger entry of the people a payout build is on (one chunk of them).

    Not a table of the schema: the build keeps these rows in a temporary table of its own
    connection (CHUNK_TABLE_SQL), emptied at each chunk, so that the chunk's payouts, links and
    flags read the ledger once instead of once each. The rows copy the entry's own columns.
    """

    id = models.BigIntegerField(primary_key=True)
    contributor_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    kind = models.CharField(max_length=20)
    project_id = models.BigIntegerField(null=True)
    work_date = models.DateField()
    hours = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    active_seconds = models.PositiveIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "marketplace_payout_chunk_entry"

    def __str__(self) -> str:
        return f"entry {self.pk} of person {self.contributor_id}"


CHUNK_TABLE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS marketplace_payout_chunk_entry (
    id bigint PRIMARY KEY,
    contributor_id bigint NOT NULL,
    currency varchar(3) NOT NULL,
    amount numeric(12, 2) NOT NULL,
    kind varchar(20) NOT NULL,
    project_id bigint NULL,
    work_date date NOT NULL,
    hours numeric(9, 4) NULL,
    active_seconds integer NULL
)
"""


class PayoutFlag(models.Model):
    """A risk flag on a payout, with the evidence behind it."""

    class Code(models.TextChoices):
        HOURS_ABOVE_AVAILABILITY = "hours_above_availability", "Hours above declared availability"
        TASK_TIME_OUTLIER = "task_time_outlier", "Time per task far from the project's"
        LOW_GOLD_ACCURACY = "low_gold_accuracy", "Low gold accuracy"
        MANY_REJECTIONS = "many_rejections", "Many rejected reviews"
        SHARED_PAYOUT_EMAIL = "shared_payout_email", "Payout e-mail shared with another account"
        SHARP_RISE = "sharp_rise", "Sharp rise against own history"
        FIRST_PAYOUT = "first_payout", "First payout"
        HELD_BEFORE = "held_before", "Held in an earlier batch"

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="flags")
    code = models.CharField(max_length=30, choices=Code)
    message = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict)

    class Meta:
        ordering = ("payout", "code")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["payout", "code"], name="one_flag_per_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} on payout {self.payout_id}"


class PayoutAudit(AppendOnly):
    """Every finance decision and system step on payouts: who, when, what and why.

    Append-only in Python and, on PostgreSQL, by a trigger that refuses updates and deletes.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    batch = models.ForeignKey(
        PayoutBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="audit"
    )
    payout = models.ForeignKey(
        Payout, on_delete=models.PROTECT, null=True, blank=True, related_name="audit"
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name = "payout audit entry"
        verbose_name_plural = "payout audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("The payout audit log is append-only.")
