"""Quality: checks on submit, gold answers, reviews and appeals, aggregation, quality actions."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from evaluations.models.work import Submission, Task
from marketplace.models import Project

USER = settings.AUTH_USER_MODEL
PEER_PERMISSION = "contributors.review_work"  # the reviewer role
EXPERT_PERMISSION = "contributors.review_as_expert"  # the expert reviewer role


def default_rubric() -> list[dict[str, object]]:
    return [
        {"name": "accuracy", "label": "The judgements are right", "max": 5},
        {"name": "rationale", "label": "The rationale explains them", "max": 5},
    ]


class QualitySettings(models.Model):
    """A project's quality rules: which checks run on submit, gold, and how work is reviewed."""

    class Action(models.TextChoices):
        OFF = "off", "Off"
        FLAG = "flag", "Flag for review"
        BLOCK = "block", "Refuse the submission"

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="quality_settings"
    )
    min_active_seconds = models.PositiveIntegerField(
        default=0, help_text="Least active time on a task (0: no check)."
    )
    min_active_action = models.CharField(max_length=5, choices=Action, default=Action.FLAG)
    min_rationale_chars = models.PositiveIntegerField(
        default=0, help_text="Least length of each rationale answer (0: no check)."
    )
    rationale_action = models.CharField(max_length=5, choices=Action, default=Action.BLOCK)
    gold_action = models.CharField(
        max_length=5,
        choices=Action,
        default=Action.FLAG,
        help_text="A gold task answered wrongly (refusing it would tell the person it was gold).",
    )
    duplicate_action = models.CharField(max_length=5, choices=Action, default=Action.FLAG)
    duplicate_similarity = models.FloatField(
        default=0.8, help_text="Estimated word-shingle overlap (Jaccard) that counts as a copy."
    )
    contradiction_action = models.CharField(max_length=5, choices=Action, default=Action.FLAG)
    gold_ratio = models.FloatField(
        default=0.0, help_text="Share of tasks handed out that are gold."
    )
    gold_max_shows = models.PositiveIntegerField(
        default=50, help_text="A gold task shown to this many people is retired."
    )
    # Review is switched on per project, once it has reviewers qualified for its track.
    peer_review = models.BooleanField(default=False)
    expert_review = models.BooleanField(default=False)
    review_first_n = models.PositiveSmallIntegerField(
        default=5, help_text="Every one of a person's first N submissions here is reviewed."
    )
    review_rate = models.FloatField(default=0.1, help_text="Share reviewed after the first N.")
    expert_audit_rate = models.FloatField(
        default=0.1, help_text="Share of peer verdicts an expert checks again."
    )
    disagreement_share = models.FloatField(
        default=0.6,
        help_text="When a task is complete and its most common choice has a smaller share than "
        "this, its submissions go to review.",
    )
    review_minutes = models.PositiveSmallIntegerField(
        default=4, help_text="Paid time per review, at the project's rate."
    )
    rubric = models.JSONField(
        default=default_rubric, help_text="Review criteria: [{name, label, max}]."
    )

    class Meta:
        verbose_name_plural = "quality settings"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(gold_ratio__gte=0, gold_ratio__lte=0.5), name="gold_ratio_0_to_half"
            ),
            models.CheckConstraint(
                condition=Q(review_rate__gte=0, review_rate__lte=1), name="review_rate_share"
            ),
            models.CheckConstraint(
                condition=Q(expert_audit_rate__gte=0, expert_audit_rate__lte=1),
                name="expert_audit_rate_share",
            ),
            models.CheckConstraint(
                condition=Q(duplicate_similarity__gt=0, duplicate_similarity__lte=1),
                name="duplicate_similarity_share",
            ),
            models.CheckConstraint(
                condition=Q(gold_max_shows__gte=1), name="gold_shown_at_least_once"
            ),
        ]

    def __str__(self) -> str:
        return f"quality settings of {self.project_id}"


class GoldAnswer(models.Model):
    """The expected answers of a gold task, with a tolerance per rating question."""

    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="gold")
    answers = models.JSONField()
    tolerances = models.JSONField(
        default=dict, blank=True, help_text="{rating question: largest distance still right}"
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"gold answer of task {self.task_id}"


class RationaleBand(models.Model):
    """One locality-sensitive bucket of a submission's rationale MinHash: submissions that share
    a bucket are the only candidates compared for near-duplicates (no pairwise scan)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    band = models.PositiveSmallIntegerField()
    bucket = models.BigIntegerField()
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="rationale_bands"
    )
    contributor = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["project", "band", "bucket"], name="rationale_band_lookup")
        ]

    def __str__(self) -> str:
        return f"band {self.band} of submission {self.submission_id}"


class Review(models.Model):
    """One reviewer's verdict on a submission, at the peer or the expert level."""

    class Level(models.TextChoices):
        PEER = "peer", "Peer review"
        EXPERT = "expert", "Expert review"

    class Reason(models.TextChoices):
        FIRST = "first", "One of the person's first submissions here"
        SAMPLED = "sampled", "Sampled"
        FLAGGED = "flagged", "Flagged by a check"
        DISAGREEMENT = "disagreement", "People disagreed on the task"
        REVISED = "revised", "Revised after a review"
        ESCALATED = "escalated", "Escalated by a peer reviewer"
        AUDIT = "audit", "Audit of a peer verdict"
        APPEAL = "appeal", "Appeal of a rejection"

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for a reviewer"
        CLAIMED = "claimed", "Being reviewed"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Verdict(models.TextChoices):
        ACCEPT = "accept", "Accept"
        REVISE = "revise", "Request a revision"
        REJECT = "reject", "Reject"
        ESCALATE = "escalate", "Escalate to an expert"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="reviews")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", help_text="Who did the work."
    )
    level = models.CharField(max_length=10, choices=Level)
    reason = models.CharField(max_length=15, choices=Reason)
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    reviewer = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="reviews_given"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True, help_text="Shown to the contributor.")
    staff_note = models.TextField(blank=True, help_text="For staff and experts only.")
    audit_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="audits"
    )
    overturned = models.BooleanField(
        default=False, help_text="An expert later decided otherwise than this verdict."
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes: ClassVar = [
            models.Index(
                fields=["level", "project", "created_at"],
                condition=Q(status="open"),
                name="review_open_queue",
            ),
        ]
        constraints: ClassVar = [
            # Nobody reviews their own work, whatever the code above does.
            models.CheckConstraint(condition=~Q(reviewer=F("author")), name="review_not_own_work"),
            # One live review of a submission per level.
            models.UniqueConstraint(
                fields=["submission", "level"],
                condition=Q(status__in=["open", "claimed"]),
                name="one_live_review_per_level",
            ),
            # A reviewer works on one review at a time.
            models.UniqueConstraint(
                fields=["reviewer"], condition=Q(status="claimed"), name="one_claimed_review"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(verdict=""), name="done_review_has_verdict"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} review {self.pk} of submission {self.submission_id}"


class Appeal(models.Model):
    """A contributor's one appeal of a rejection; an expert decides it."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for an expert"
        UPHELD = "upheld", "Rejection upheld"
        OVERTURNED = "overturned", "Rejection overturned"

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="appeal")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    review = models.OneToOneField(
        Review, on_delete=models.PROTECT, null=True, blank=True, related_name="appeal"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"appeal of submission {self.submission_id} ({self.status})"


class AggregationRun(models.Model):
    """One run of agreement and aggregation over a project, with its method parameters and
    the project-level results (agreement per question, model leaderboard, worker quality)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="aggregations")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    submissions_seen = models.PositiveIntegerField(default=0)
    tasks_updated = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints: ClassVar = [
            # Asking twice while one is waiting or running gives that one.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "running"]),
                name="one_live_aggregation",
            ),
        ]

    def __str__(self) -> str:
        return f"aggregation {self.pk} of {self.project_id} ({self.status})"


class AggregateResult(models.Model):
    """The aggregated answer of one question of one task, by one method."""

    class Method(models.TextChoices):
        MAJORITY = "majority", "Majority vote"
        DAWID_SKENE = "dawid_skene", "Dawid–Skene"
        MEAN = "mean", "Mean, median and spread"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="aggregates")
    question = models.CharField(max_length=40)
    method = models.CharField(max_length=15, choices=Method)
    value = models.JSONField(null=True, help_text="Empty when there is no majority (a tie).")
    confidence = models.FloatField(null=True, blank=True)
    n = models.PositiveIntegerField(help_text="How many answers went in.")
    run = models.ForeignKey(AggregationRun, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["task", "question", "method"], name="one_result_per_method"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["project", "task"], name="aggregate_export_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.method} of {self.question} on task {self.task_id}"


class QualityAction(models.Model):
    """What the quality standing did about a person, and why: a warning, a pause on a project,
    a multiplier level, or a qualification revocation that waits for staff to confirm."""

    class Kind(models.TextChoices):
        WARN = "warn", "Warning"
        PAUSE = "pause", "Paused on a project"
        STANDING = "standing", "Standing changed"
        REVOKE = "revoke", "Qualification revoked"

    class Status(models.TextChoices):
        DONE = "done", "Done"
        AWAITING = "awaiting", "Waiting for staff to confirm"
        DISMISSED = "dismissed", "Dismissed by staff"

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="quality_actions")
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    track = models.CharField(max_length=20)
    kind = models.CharField(max_length=10, choices=Kind)
    status = models.CharField(max_length=10, choices=Status, default=Status.DONE)
    reason = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    qualification_code = models.CharField(max_length=40, blank=True)
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints: ClassVar = [
            # One open revocation per person and qualification.
            models.UniqueConstraint(
                fields=["user", "qualification_code"],
                condition=Q(kind="revoke", status="awaiting"),
                name="one_awaiting_revocation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} ({self.status})"
