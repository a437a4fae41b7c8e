"""Assessments (versioned content), attempts, their items, human grading and the scoring trail."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Assessment(models.Model):
    """One version of one assessment, as loaded from its content file. Never edited in place."""

    class Kind(models.TextChoices):
        STARTER = "starter", "Starter"
        SPECIALIST = "specialist", "Specialist"

    slug = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind)
    track = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    instructions = models.TextField()
    time_limit_minutes = models.PositiveSmallIntegerField()
    pass_mark = models.DecimalField(max_digits=5, decimal_places=2)
    grants = models.JSONField(default=list)
    prerequisites = models.JSONField(default=list)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    cooldown_days = models.PositiveSmallIntegerField(default=0)
    grading_margin = models.DecimalField(max_digits=4, decimal_places=3)
    content = models.JSONField(help_text="The checked content file, answer keys included.")
    content_sha256 = models.CharField(max_length=64)
    is_current = models.BooleanField(default=True)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("slug", "-version")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["slug", "version"], name="assessment_version_unique"),
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(is_current=True),
                name="one_current_version_per_assessment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def is_starter(self) -> bool:
        return self.kind == self.Kind.STARTER

    def question(self, question_id: str) -> dict[str, Any]:
        for section in self.content["sections"]:
            for question in section["questions"]:
                if question["id"] == question_id:
                    return question
        raise KeyError(question_id)

    def section_titles(self) -> dict[str, str]:
        return {section["key"]: section["title"] for section in self.content["sections"]}


class Attempt(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted, being scored"
        DECIDED = "decided", "Decided"

    class SubmittedBy(models.TextChoices):
        CANDIDATE = "candidate", "The candidate"
        DEADLINE = "deadline", "The deadline"

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="attempts")
    # Copied from the assessment so that database constraints can use them.
    slug = models.SlugField(max_length=64)
    is_starter = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attempts"
    )
    number = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=20, choices=Status, default=Status.IN_PROGRESS, db_index=True
    )
    started_at = models.DateTimeField(default=timezone.now)
    deadline_at = models.DateTimeField(db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.CharField(max_length=20, choices=SubmittedBy, blank=True)
    max_points = models.DecimalField(max_digits=8, decimal_places=2)
    score_points = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    score_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    breakdown = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")
        constraints: ClassVar = [
            # The Starter Assessment is taken once per person, ever: simultaneous starts make one.
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_starter=True), name="one_starter_attempt_per_person"
            ),
            models.UniqueConstraint(
                fields=["user", "slug", "number"], name="attempt_number_unique"
            ),
            models.UniqueConstraint(
                fields=["user", "slug"],
                condition=Q(status="in_progress"),
                name="one_open_attempt_per_assessment",
            ),
            models.CheckConstraint(
                condition=Q(deadline_at__gt=F("started_at")), name="attempt_deadline_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(status="decided")
                | Q(passed__isnull=False, decided_at__isnull=False, score_percent__isnull=False),
                name="attempt_decided_has_result",
            ),
            models.CheckConstraint(
                condition=Q(status="in_progress") | Q(submitted_at__isnull=False),
                name="attempt_closed_has_submission_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slug} #{self.number} of {self.user_id}"

    def is_open(self, *, now: Any = None) -> bool:
        return (
            self.status == self.Status.IN_PROGRESS and (now or timezone.now()) <= self.deadline_at
        )


class AttemptItem(models.Model):
    """One drawn question of an attempt: the answer, and how it was scored."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        AWAITING_SANDBOX = "awaiting_sandbox", "Waiting for the code runner"
        AWAITING_GRADERS = "awaiting_graders", "Waiting for graders"
        SCORED = "scored", "Scored"

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    question_id = models.CharField(max_length=80)
    section_key = models.CharField(max_length=80)
    qtype = models.CharField("question type", max_length=20)
    points = models.DecimalField(max_digits=7, decimal_places=2)
    answer = models.JSONField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN)
    auto_points = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    human_points = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    scoring = models.JSONField(default=dict, blank=True, help_text="How the score was reached.")

    class Meta:
        ordering = ("attempt", "position")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["attempt", "position"], name="item_position_unique"),
            models.UniqueConstraint(
                fields=["attempt", "question_id"], name="item_question_once_per_attempt"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=F("points")),
                name="item_score_within_points",
            ),
            models.CheckConstraint(
                condition=~Q(status="scored") | Q(score__isnull=False), name="item_scored_has_score"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}/{self.position}: {self.question_id}"


class GradingTask(models.Model):
    """One grader's blind grade of one item; rounds 1 and 2 are independent, 3 adjudicates."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLAIMED = "claimed", "Being graded"
        DONE = "done", "Done"

    item = models.ForeignKey(AttemptItem, on_delete=models.CASCADE, related_name="grading_tasks")
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="grading_tasks")
    candidate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    track = models.CharField(max_length=40, db_index=True)
    round = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN, db_index=True)
    grader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grading_tasks",
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    points = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    criteria = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "round"], name="grading_round_once_per_item"),
            models.UniqueConstraint(fields=["item", "grader"], name="grader_grades_an_item_once"),
            models.CheckConstraint(
                condition=~Q(grader=F("candidate")), name="grader_is_not_the_candidate"
            ),
            models.CheckConstraint(
                condition=Q(round__gte=1, round__lte=3), name="grading_round_1_to_3"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(points__isnull=False, grader__isnull=False),
                name="grading_done_has_points",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(grader__isnull=False),
                name="grading_claimed_has_grader",
            ),
        ]

    def __str__(self) -> str:
        return f"grading of item {self.item_id}, round {self.round}"


class ScoringEvent(models.Model):
    """The scoring trail of an attempt, for staff: every step, in order. Append-only."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="events")
    item = models.ForeignKey(
        AttemptItem, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.kind} on attempt {self.attempt_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("The scoring trail is append-only.")
        super().save(*args, **kwargs)
