"""The work: evaluation forms, tasks, their distribution to contributors, submissions, imports."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from marketplace.models import Project

USER = settings.AUTH_USER_MODEL


class EvaluationSettings(models.Model):
    """How a project's tasks are handed out and shown."""

    class PrelabelMode(models.TextChoices):
        PREFILL = "prefill", "Pre-fill the answer"
        BESIDE = "beside", "Show beside the question"
        HIDDEN = "hidden", "Do not show"

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="evaluation_settings"
    )
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Distinct people per task.")
    lease_minutes = models.PositiveSmallIntegerField(default=30)
    daily_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most tasks per person per day."
    )
    project_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most tasks per person here."
    )
    prelabel_mode = models.CharField(
        max_length=10, choices=PrelabelMode, default=PrelabelMode.BESIDE
    )

    class Meta:
        verbose_name_plural = "evaluation settings"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(overlap__gte=1, overlap__lte=50), name="overlap_1_to_50"
            ),
            models.CheckConstraint(
                condition=Q(lease_minutes__gte=1), name="lease_at_least_a_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"settings of {self.project_id}"


class EvaluationForm(models.Model):
    """One version of a project's form. A form with submissions is never edited: a change
    becomes the next version, and old submissions keep theirs."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="evaluation_forms")
    version = models.PositiveIntegerField()
    schema = models.JSONField()
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("project", "-version")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "version"], name="form_version_unique"),
        ]

    def __str__(self) -> str:
        return f"form v{self.version} of {self.project_id}"


class Task(models.Model):
    """What is evaluated: a prompt (or conversation), responses, maybe code and tests.

    `filled` counts the assignments holding a place (being worked on, or submitted); a task is
    handed out only while `filled < overlap`, and a check constraint keeps it there.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    external_id = models.CharField(max_length=200, blank=True)
    prompt = models.TextField()
    conversation = models.JSONField(default=list, blank=True)
    responses = models.JSONField(
        default=list, help_text='[{"id": "r1", "text": "...", "model": "..."}]'
    )
    response_count = models.PositiveSmallIntegerField(default=0)
    code = models.TextField(blank=True)
    tests = models.TextField(
        blank=True, help_text="Python that checks `solution.py` (exit 0 passes)."
    )
    reference = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    priority = models.SmallIntegerField(default=0)
    overlap = models.PositiveSmallIntegerField(default=1)
    filled = models.PositiveSmallIntegerField(default=0)
    completed = models.PositiveSmallIntegerField(default=0)
    is_gold = models.BooleanField(
        default=False,
        help_text="A gold task: its expected answers check the people who get it; it is mixed "
        "into their work at the project's gold ratio and kept out of the normal queue.",
    )
    has_prelabels = models.BooleanField(
        default=False,
        help_text="Set when pre-labels are imported, so a task without any costs "
        "no lookup when it is handed out or submitted.",
    )
    import_job = models.ForeignKey(
        "ImportJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("project", "-priority", "id")
        indexes: ClassVar = [
            # The claim reads open tasks of a project, best first; only open ones are indexed, so
            # the index stays small however many tasks are done.
            models.Index(
                F("project"),
                F("priority").desc(),
                F("id"),
                condition=Q(filled__lt=F("overlap"), is_gold=False),
                name="task_open_queue",
            ),
            models.Index(
                F("project"),
                F("id"),
                condition=Q(filled__lt=F("overlap"), is_gold=True),
                name="task_open_gold",
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(filled__lte=F("overlap")), name="task_never_over_overlap"
            ),
            models.CheckConstraint(
                condition=Q(completed__lte=F("filled")), name="task_completed_within_filled"
            ),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="task_overlap_positive"),
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~Q(external_id=""),
                name="task_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} of {self.project_id}"


class PreLabel(models.Model):
    """A model's suggested answer to one question of a task."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="prelabels")
    question = models.CharField(max_length=40)
    value = models.JSONField()
    model_name = models.CharField(max_length=200, blank=True)
    score = models.FloatField(
        null=True, blank=True, help_text="The model's confidence, if it gave one."
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["task", "question"], name="prelabel_once_per_question"),
        ]

    def __str__(self) -> str:
        return f"pre-label {self.question} of {self.task_id}"


class Assignment(models.Model):
    """A task handed to one person: a lease while they work, then a submission (or a skip)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Being worked on"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Lease expired"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    contributor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    leased_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField()
    form = models.ForeignKey(EvaluationForm, on_delete=models.PROTECT, related_name="assignments")
    response_order = models.JSONField(default=list, help_text="Response ids in the order shown.")
    draft = models.JSONField(default=dict, blank=True)
    active_seconds = models.PositiveIntegerField(default=0)
    last_active_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-leased_at",)
        indexes: ClassVar = [
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="active"),
                name="assignment_lease_lookup",
            ),
            models.Index(
                fields=["contributor", "project", "leased_at"], name="assignment_caps_lookup"
            ),
        ]
        constraints: ClassVar = [
            # A person never gets a task they already had, whatever became of it.
            models.UniqueConstraint(fields=["task", "contributor"], name="task_once_per_person"),
            # One task at a time per person and project.
            models.UniqueConstraint(
                fields=["contributor", "project"],
                condition=Q(status="active"),
                name="one_active_task_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.task_id} for {self.contributor_id} ({self.status})"


class Submission(models.Model):
    """A person's answers to a task, checked against the form version they were given."""

    class Status(models.TextChoices):
        IN_REVIEW = "in_review", "In review"
        REVISION = "revision", "Revision requested"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    assignment = models.OneToOneField(
        Assignment, on_delete=models.PROTECT, related_name="submission"
    )
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="submissions")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="submissions")
    contributor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="submissions")
    form = models.ForeignKey(EvaluationForm, on_delete=models.PROTECT, related_name="submissions")
    answers = models.JSONField()
    prelabel_usage = models.JSONField(
        default=dict, blank=True, help_text="{question: kept|changed}"
    )
    response_order = models.JSONField(default=list)
    active_seconds = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACCEPTED)
    checks = models.JSONField(
        default=dict, blank=True, help_text="{check: passed|flagged, ...} of the checks on submit."
    )
    flags = models.JSONField(
        default=list, blank=True, help_text="Why it goes to review: [{check, detail}]."
    )
    is_gold = models.BooleanField(default=False)
    gold_correct = models.BooleanField(null=True, blank=True)
    rationale_signature = models.JSONField(
        null=True, blank=True, help_text="MinHash of the rationales, for near-duplicates."
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    review_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        indexes: ClassVar = [
            models.Index(fields=["project", "task"], name="submission_export_lookup"),
            # A person's work on a project: first-N sampling, gold accuracy, standings.
            models.Index(fields=["contributor", "project"], name="submission_person_lookup"),
        ]

    def __str__(self) -> str:
        return f"submission {self.pk} on task {self.task_id}"


class CodeRun(models.Model):
    """One run of code against a task's tests in the sandbox, requested from the workspace."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="code_runs")
    code = models.TextField()
    source = models.CharField(
        max_length=100, help_text="A response id, or 'own' for the person's fix."
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    passed = models.BooleanField(null=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"code run {self.pk} ({self.status})"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed: nothing imported"

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON lines"
        CSV = "csv", "CSV"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to="imports/%Y/%m/")
    format = models.CharField(max_length=10, choices=Format)
    skip_invalid = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    lines_read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text="The first bad lines: line, field, problem."
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"import {self.pk} into {self.project_id} ({self.status})"

    def as_progress(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "lines_read": self.lines_read,
            "imported": self.imported,
            "invalid": self.invalid,
        }
