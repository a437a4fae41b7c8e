"""Shapes of the evaluations API."""

from __future__ import annotations

from rest_framework import serializers

from evaluations.models import EvaluationSettings, ImportJob
from evaluations.services.export import KINDS


class FormInput(serializers.Serializer):
    schema = serializers.JSONField(help_text='{"questions": [...]}: see evaluations/schema.py.')


class FormOutput(serializers.Serializer):
    version = serializers.IntegerField()
    schema = serializers.JSONField()
    created_at = serializers.DateTimeField()


class SettingsInput(serializers.Serializer):
    overlap = serializers.IntegerField(min_value=1, max_value=50, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False)
    daily_cap = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    project_cap = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    prelabel_mode = serializers.ChoiceField(
        choices=EvaluationSettings.PrelabelMode.choices, required=False
    )


class SettingsOutput(serializers.Serializer):
    overlap = serializers.IntegerField()
    lease_minutes = serializers.IntegerField()
    daily_cap = serializers.IntegerField(allow_null=True)
    project_cap = serializers.IntegerField(allow_null=True)
    prelabel_mode = serializers.CharField()


class ImportInput(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=ImportJob.Format.choices, required=False)
    skip_invalid = serializers.BooleanField(default=False)


class ImportErrorOutput(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField()
    problem = serializers.CharField()


class ImportJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    format = serializers.CharField()
    skip_invalid = serializers.BooleanField()
    status = serializers.CharField()
    lines_read = serializers.IntegerField()
    imported = serializers.IntegerField()
    invalid = serializers.IntegerField()
    errors = ImportErrorOutput(many=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ExportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(kind, kind) for kind in KINDS], default="raw")
    format = serializers.ChoiceField(
        choices=[("jsonl", "JSON lines"), ("csv", "CSV")], default="jsonl"
    )


class ResponseOutput(serializers.Serializer):
    id = serializers.CharField()
    letter = serializers.CharField()
    text = serializers.CharField()
    model = serializers.CharField()


class TaskOutput(serializers.Serializer):
    id = serializers.IntegerField()
    prompt = serializers.CharField()
    conversation = serializers.JSONField()
    responses = ResponseOutput(many=True, help_text="In this person's order.")
    code = serializers.CharField()
    has_tests = serializers.BooleanField()
    reference = serializers.CharField()


class AssignmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    status = serializers.CharField()
    lease_expires_at = serializers.DateTimeField()
    form_version = serializers.IntegerField()
    form = serializers.JSONField()
    task = TaskOutput()
    prelabels = serializers.JSONField(
        help_text="{question: {value, model, score}} (per project setting)."
    )
    draft = serializers.JSONField()


class AnswersInput(serializers.Serializer):
    answers = serializers.JSONField()


class DraftInput(serializers.Serializer):
    draft = serializers.JSONField()


class SkipInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class SubmissionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    assignment = serializers.IntegerField(source="assignment_id")
    task = serializers.IntegerField(source="task_id")
    project = serializers.IntegerField(source="project_id")
    status = serializers.CharField()
    answers = serializers.JSONField()
    prelabel_usage = serializers.JSONField()
    response_order = serializers.JSONField()
    active_seconds = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CodeRunInput(serializers.Serializer):
    source = serializers.CharField(
        max_length=100, help_text='A response id, "task" for the task\'s code, or "own".'
    )
    code = serializers.CharField(required=False, allow_blank=True, max_length=100_000)


class CodeRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    status = serializers.CharField()
    passed = serializers.BooleanField(allow_null=True)
    result = serializers.JSONField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class PrelabelImportInput(serializers.Serializer):
    file = serializers.FileField(
        help_text='JSONL: {"external_id" or "task_id", "question", "value", "model", "score"}.'
    )


class PrelabelImportOutput(serializers.Serializer):
    lines = serializers.IntegerField()
    imported = serializers.IntegerField()
