"""Tiers and rates, projects, memberships, tracked time and the earnings ledger."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.money import DEFAULT_CURRENCY

USER = settings.AUTH_USER_MODEL


class Tier(models.TextChoices):
    GENERAL = "general", "General"
    MULTILINGUAL = "multilingual", "Multilingual"
    CODING = "coding", "Coding"
    STEM = "stem", "STEM"
    PROFESSIONAL = "professional", "Professional"


STANDINGS = ("standard", "strong", "exceptional")


class AppendOnly(models.Model):
    """Rows that are written once and never changed: history, rates from a date."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError(f"{type(self).__name__} rows are append-only; add a new one.")
        super().save(*args, **kwargs)


class TierFloor(AppendOnly):
    """The lowest hourly rate of a tier from a moment on. Old earnings keep the rate they had."""

    tier = models.CharField(max_length=20, choices=Tier)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    effective_from = models.DateTimeField(default=timezone.now)
    set_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tier", "-effective_from")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["tier", "effective_from"], name="tier_floor_once_per_moment"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tier_floor_positive"),
        ]

    def __str__(self) -> str:
        since = f"{self.effective_from:%Y-%m-%d}"
        return f"{self.get_tier_display()}: {self.amount} {self.currency}/h from {since}"


class MultiplierRate(AppendOnly):
    """What a quality standing multiplies pay by, from a moment on."""

    standing = models.CharField(max_length=20)
    multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, validators=[MinValueValidator(0), MaxValueValidator(3)]
    )
    effective_from = models.DateTimeField(default=timezone.now)
    set_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        ordering = ("standing", "-effective_from")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["standing", "effective_from"], name="multiplier_once_per_moment"
            ),
            models.CheckConstraint(
                condition=Q(standing__in=STANDINGS), name="multiplier_standing_known"
            ),
            models.CheckConstraint(
                condition=Q(multiplier__gt=0, multiplier__lte=3), name="multiplier_between_0_and_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.standing}: ×{self.multiplier} from {self.effective_from:%Y-%m-%d}"


class Project(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        ARCHIVED = "archived", "Archived"

    class PayModel(models.TextChoices):
        HOURLY = "hourly", "Hourly"
        PER_TASK = "per_task", "Per task"

    title = models.CharField(max_length=200)
    description = models.TextField(help_text="Markdown; shown on the dashboard.")
    instructions = models.TextField(blank=True, help_text="Markdown; shown to members.")
    deliverables = models.TextField(blank=True, help_text="Markdown.")
    tier = models.CharField(max_length=20, choices=Tier)
    pay_model = models.CharField(max_length=20, choices=PayModel, default=PayModel.HOURLY)
    pay_rate = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Per hour; per-task pay is this × the estimated time.",
    )
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    task_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Estimated minutes per task (per-task projects)."
    )
    time_commitment = models.CharField(
        max_length=200, blank=True, help_text="E.g. 5-10 hours a week."
    )
    capacity = models.PositiveIntegerField(default=50, help_text="Most contributors at once.")
    priority = models.SmallIntegerField(default=0, help_text="Higher comes first on the dashboard.")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-priority", "-pay_rate", "id")
        indexes: ClassVar = [
            models.Index(
                fields=["status", "-priority", "-pay_rate"], name="project_dashboard_order"
            )
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(pay_rate__gt=0), name="project_rate_positive"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="project_capacity_positive"),
            models.CheckConstraint(
                condition=~Q(pay_model="per_task") | Q(task_minutes__gte=1),
                name="per_task_has_minutes",
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="project_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "active", "paused", "completed", "archived"]),
                name="project_status_known",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProjectRequirement(models.Model):
    """A qualification a project asks for: every `all` one, and one of the `any` ones."""

    class Mode(models.TextChoices):
        ALL = "all", "All of"
        ANY = "any", "Any of"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="requirements")
    code = models.CharField(max_length=40)
    mode = models.CharField(max_length=3, choices=Mode)

    class Meta:
        ordering = ("mode", "code")
        indexes: ClassVar = [
            models.Index(fields=["mode", "code", "project"], name="requirement_lookup")
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "code", "mode"], name="requirement_once"),
        ]

    def __str__(self) -> str:
        return f"{self.mode}: {self.code}"


class ProjectLanguage(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="languages")
    language = models.CharField(max_length=10)

    class Meta:
        ordering = ("language",)
        indexes: ClassVar = [
            models.Index(fields=["language", "project"], name="project_language_lookup")
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "language"], name="project_language_once"),
        ]

    def __str__(self) -> str:
        return self.language


class ProjectStatusChange(AppendOnly):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class ProjectRateChange(AppendOnly):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rate_changes")
    old_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    new_rate = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.old_rate} → {self.new_rate} {self.currency}"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Paused by the quality standing: no new tasks here."
    )
    paused_reason = models.TextField(blank=True)

    class Meta:
        ordering = ("-joined_at",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "user"],
                condition=Q(left_at__isnull=True),
                name="one_live_membership",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.project_id}"


class WorkSession(models.Model):
    """Time a person worked on a project: tracked live (start, heartbeats, stop) or approved
    from a manual entry. Sessions of one person never overlap (database constraints)."""

    class Source(models.TextChoices):
        TRACKED = "tracked", "Tracked"
        MANUAL = "manual", "Manual entry"

    class EndReason(models.TextChoices):
        STOPPED = "stopped", "Stopped"
        IDLE = "idle", "Closed when idle"
        MANUAL = "manual", "Manual entry"

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="work_sessions")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="work_sessions")
    source = models.CharField(max_length=10, choices=Source, default=Source.TRACKED)
    started_at = models.DateTimeField(default=timezone.now)
    last_heartbeat_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=10, choices=EndReason, blank=True)
    # What was in force when the work began: the pay of this session, whatever changes later.
    pay_model = models.CharField(max_length=20, choices=Project.PayModel)
    rate = models.DecimalField(max_digits=12, decimal_places=2)
    multiplier = models.DecimalField(max_digits=4, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ("-started_at",)
        indexes: ClassVar = [
            models.Index(fields=["ended_at", "last_heartbeat_at"], name="session_idle_lookup")
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(ended_at__isnull=True),
                name="one_open_session_per_person",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="session_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(last_heartbeat_at__gte=F("started_at")),
                name="session_heartbeat_after_start",
            ),
        ]
        # On PostgreSQL a further exclusion constraint (migration 0002) forbids overlapping
        # [started_at, ended_at) ranges of one person, open sessions included.

    def __str__(self) -> str:
        return f"{self.user_id} on {self.project_id} from {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def seconds(self) -> int:
        end = self.ended_at or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()))


class ManualTimeEntry(models.Model):
    """Time worked without the tracker; it counts once staff approve it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="manual_time_entries")
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="manual_time_entries"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    session = models.OneToOneField(
        WorkSession, on_delete=models.PROTECT, null=True, blank=True, related_name="manual_entry"
    )

    class Meta:
        ordering = ("-created_at",)
        verbose_name_plural = "manual time entries"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=F("started_at")), name="manual_entry_ends_after_start"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="manual_entry_has_reason"),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(session__isnull=False),
                name="approved_entry_has_session",
            ),
        ]

    def __str__(self) -> str:
        span = f"{self.started_at:%Y-%m-%d %H:%M}-{self.ended_at:%H:%M}"
        return f"{self.user_id}: {span} ({self.status})"


class EarningEntry(models.Model):
    """One line of the earnings ledger. Its amount never changes; corrections are new entries.

    State moves pending → approved → paid, or to reversed when a reversal entry cancels it.
    `idempotency_key` names what the entry is for (a session, a task, a top-up), so that a
    retried job can never write it twice.
    """

    class Kind(models.TextChoices):
        TIME = "time", "Time worked"
        TASK = "task", "Accepted task"
        REVIEW = "review", "Review"
        BONUS = "bonus", "Bonus"
        ADJUSTMENT = "adjustment", "Adjustment"
        REVERSAL = "reversal", "Reversal"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"
        REVERSED = "reversed", "Reversed"

    contributor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="earnings")
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, null=True, blank=True, related_name="earnings"
    )
    kind = models.CharField(max_length=20, choices=Kind)
    state = models.CharField(max_length=20, choices=State, default=State.PENDING, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    hours = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    multiplier = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    active_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Measured time of a task."
    )
    work_date = models.DateField(
        help_text="When the work was done; earnings pages group by its week."
    )
    source_type = models.CharField(max_length=30)
    source_id = models.CharField(max_length=100)
    idempotency_key = models.CharField(max_length=200, unique=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "earning entries"
        permissions: ClassVar = [
            ("approve_earnings", "Can approve pending earnings"),
            ("adjust_earnings", "Can add bonuses, adjustments and reversals"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["contributor", "state"], name="earning_balance_lookup"),
            models.Index(fields=["project", "kind"], name="earning_project_kind"),
            # The approved, unpaid entries of a range of people: what a payout build reads. A
            # few weeks of entries, not the whole ledger.
            models.Index(
                fields=["contributor", "currency"],
                condition=Q(state="approved"),
                name="earning_payable",
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(amount=0), name="earning_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(kind="reversal", amount__lt=0, reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="reversal_is_negative_and_names_its_entry",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["time", "task", "review", "bonus"]) | Q(amount__gt=0),
                name="earned_amounts_are_positive",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "approved", "paid", "reversed"]),
                name="earning_state_known",
            ),
            models.CheckConstraint(
                condition=~Q(state="paid") | Q(paid_at__isnull=False), name="paid_entry_has_paid_at"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.state})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError(
                "Earning entries are immutable; state moves through the ledger services."
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Earning entries are never deleted; reverse them.")
