"""Shapes of the assessments API. No answer key, rubric point or hidden test is in any of them."""

from __future__ import annotations

from rest_framework import serializers


class UnlockOutput(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    tier = serializers.CharField()
    tier_label = serializers.CharField()


class AssessmentOutput(serializers.Serializer):
    slug = serializers.CharField(source="assessment.slug")
    version = serializers.IntegerField(source="assessment.version")
    title = serializers.CharField(source="assessment.title")
    kind = serializers.CharField(source="assessment.kind")
    track = serializers.CharField(source="assessment.track")
    summary = serializers.CharField(source="assessment.summary")
    instructions = serializers.CharField(source="assessment.instructions", help_text="Markdown.")
    time_limit_minutes = serializers.IntegerField(source="assessment.time_limit_minutes")
    pass_mark = serializers.DecimalField(
        source="assessment.pass_mark", max_digits=5, decimal_places=2
    )
    max_attempts = serializers.IntegerField(source="assessment.max_attempts")
    cooldown_days = serializers.IntegerField(source="assessment.cooldown_days")
    prerequisites = serializers.ListField(
        source="assessment.prerequisites", child=serializers.CharField()
    )
    questions_drawn = serializers.IntegerField()
    unlocks = UnlockOutput(many=True)
    may_start = serializers.BooleanField(source="eligibility.may_start")
    reason = serializers.CharField(
        source="eligibility.reason", help_text="Why not, when may_start is false."
    )
    open_attempt_id = serializers.IntegerField(
        source="eligibility.open_attempt_id", allow_null=True
    )


class AttemptStartInput(serializers.Serializer):
    assessment = serializers.SlugField(help_text="The assessment's slug, e.g. `starter`.")


class AttemptItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    section = serializers.CharField()
    question = serializers.JSONField(help_text="The question as the candidate sees it: no keys.")
    answer = serializers.JSONField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)


class SectionScoreOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    points = serializers.DecimalField(max_digits=8, decimal_places=2)
    max_points = serializers.DecimalField(max_digits=8, decimal_places=2)


class AttemptSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    assessment = serializers.CharField(source="slug")
    title = serializers.CharField(source="assessment.title")
    number = serializers.IntegerField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    deadline_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted_by = serializers.CharField()
    score_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    passed = serializers.BooleanField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class AttemptOutput(AttemptSummaryOutput):
    max_points = serializers.DecimalField(max_digits=8, decimal_places=2)
    score_points = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    breakdown = SectionScoreOutput(many=True)
    granted = UnlockOutput(many=True)
    items = AttemptItemOutput(many=True, help_text="Present while the attempt is in progress.")


class AnswerInput(serializers.Serializer):
    answer = serializers.JSONField(
        help_text='By question type: {"choice": id}, {"choices": [ids]}, {"value": "12.5"}, '
        '{"text": str}, {"ratings": {dimension: int}}, {"choice": "a"|"b", "justification": str}, '
        '{"code": str}.'
    )


class AnswerOutput(serializers.Serializer):
    item = serializers.IntegerField(source="pk")
    answer = serializers.JSONField()
    answered_at = serializers.DateTimeField()


class CriterionOutput(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()
    points = serializers.DecimalField(max_digits=7, decimal_places=2)


class GradingTaskOutput(serializers.Serializer):
    id = serializers.IntegerField()
    round = serializers.IntegerField()
    status = serializers.CharField()
    track = serializers.CharField()
    assessment = serializers.CharField()
    question = serializers.JSONField()
    answer = serializers.JSONField()
    rubric = CriterionOutput(many=True)
    points = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    criteria = serializers.DictField(child=serializers.CharField())
    comment = serializers.CharField()
    claimed_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


class GradingSubmitInput(serializers.Serializer):
    criteria = serializers.DictField(
        child=serializers.DecimalField(max_digits=7, decimal_places=2),
        help_text="Points per criterion id.",
    )
    comment = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)


class BacklogRowOutput(serializers.Serializer):
    attempt = serializers.IntegerField(source="attempt.pk")
    assessment = serializers.CharField(source="attempt.slug")
    submitted_at = serializers.DateTimeField(source="attempt.submitted_at")
    age_hours = serializers.FloatField()
    due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField()
    open_tasks = serializers.IntegerField()
    claimed_tasks = serializers.IntegerField()


class TrailEventOutput(serializers.Serializer):
    kind = serializers.CharField()
    item = serializers.IntegerField(source="item_id", allow_null=True)
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    detail = serializers.JSONField()
    created_at = serializers.DateTimeField()
