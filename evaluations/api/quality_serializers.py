"""Shapes of the quality API."""

from __future__ import annotations

from rest_framework import serializers

from evaluations.api.serializers import TaskOutput
from evaluations.models import AggregateResult, QualitySettings, Review

ACTIONS = QualitySettings.Action.choices


class QualitySettingsInput(serializers.Serializer):
    min_active_seconds = serializers.IntegerField(min_value=0, max_value=86_400, required=False)
    min_active_action = serializers.ChoiceField(choices=ACTIONS, required=False)
    min_rationale_chars = serializers.IntegerField(min_value=0, max_value=10_000, required=False)
    rationale_action = serializers.ChoiceField(choices=ACTIONS, required=False)
    gold_action = serializers.ChoiceField(choices=ACTIONS, required=False)
    duplicate_action = serializers.ChoiceField(choices=ACTIONS, required=False)
    duplicate_similarity = serializers.FloatField(min_value=0.05, max_value=1, required=False)
    contradiction_action = serializers.ChoiceField(choices=ACTIONS, required=False)
    gold_ratio = serializers.FloatField(min_value=0, max_value=0.5, required=False)
    gold_max_shows = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    peer_review = serializers.BooleanField(required=False)
    expert_review = serializers.BooleanField(required=False)
    review_first_n = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    review_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    expert_audit_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    disagreement_share = serializers.FloatField(min_value=0, max_value=1, required=False)
    review_minutes = serializers.IntegerField(min_value=1, max_value=240, required=False)
    rubric = serializers.JSONField(required=False, help_text="[{name, label, max}], 1–10 items.")


class QualitySettingsOutput(QualitySettingsInput):
    pass


class GoldInput(serializers.Serializer):
    answers = serializers.JSONField(help_text="Expected answers by question name.")
    tolerances = serializers.JSONField(
        required=False, help_text="{rating question: largest distance still right}."
    )


class GoldOutput(serializers.Serializer):
    task = serializers.IntegerField(source="task_id")
    answers = serializers.JSONField()
    tolerances = serializers.JSONField()
    updated_at = serializers.DateTimeField()


class AggregationRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    status = serializers.CharField()
    params = serializers.JSONField()
    summary = serializers.JSONField(
        help_text="Per question: agreement (α, κ pairs), Dawid–Skene fit; the leaderboard."
    )
    submissions_seen = serializers.IntegerField()
    tasks_updated = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class AggregatesQuery(serializers.Serializer):
    question = serializers.CharField(max_length=40)
    method = serializers.ChoiceField(choices=AggregateResult.Method.choices)


class AggregateOutput(serializers.Serializer):
    task = serializers.IntegerField(source="task_id")
    external_id = serializers.CharField(source="task.external_id")
    question = serializers.CharField()
    method = serializers.CharField()
    value = serializers.JSONField()
    confidence = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class ProjectQualityOutput(serializers.Serializer):
    track = serializers.CharField()
    submissions = serializers.JSONField()
    aggregation = serializers.JSONField(allow_null=True)
    aggregation_running = serializers.IntegerField(allow_null=True)
    gold = serializers.JSONField(help_text="Per gold task: shown, answered, right share, retired.")
    gold_accuracy = serializers.JSONField(help_text="Per contributor: Beta posterior, 90%.")
    backlog = serializers.JSONField()
    at_risk = serializers.JSONField()
    reviewers = serializers.JSONField(help_text="Peer reviewers: verdicts, audited, overturned.")
    actions_awaiting = serializers.JSONField()


class QueueRowOutput(serializers.Serializer):
    project = serializers.IntegerField()
    title = serializers.CharField()
    level = serializers.CharField()
    waiting = serializers.IntegerField()
    oldest_hours = serializers.FloatField()


class ReviewSubmissionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    answers = serializers.JSONField()
    active_seconds = serializers.IntegerField()
    flags = serializers.JSONField()
    created_at = serializers.DateTimeField()


class ReviewOutput(serializers.Serializer):
    id = serializers.IntegerField()
    level = serializers.CharField()
    reason = serializers.CharField()
    reason_label = serializers.CharField()
    status = serializers.CharField()
    project = serializers.JSONField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    rubric = serializers.JSONField()
    form = serializers.JSONField()
    task = TaskOutput()
    submission = ReviewSubmissionOutput()
    earlier_reviews = serializers.JSONField(help_text="Experts only: earlier verdicts and notes.")
    appeal_reason = serializers.CharField()
    verdicts = serializers.ListField(child=serializers.CharField())


class NextReviewQuery(serializers.Serializer):
    level = serializers.ChoiceField(choices=Review.Level.choices, default=Review.Level.PEER)
    project = serializers.IntegerField(required=False, min_value=1)


class VerdictInput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Review.Verdict.choices)
    scores = serializers.JSONField(help_text="{criterion: points} for every rubric criterion.")
    comment = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, help_text="Shown to the contributor."
    )
    staff_note = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, help_text="For staff and experts."
    )


class ReviewDoneOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    verdict = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)


class FeedbackReviewOutput(serializers.Serializer):
    level = serializers.CharField()
    verdict = serializers.CharField()
    verdict_label = serializers.CharField()
    scores = serializers.JSONField()
    comment = serializers.CharField()
    decided_at = serializers.DateTimeField()


class SubmissionFeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    project = serializers.IntegerField()
    answers = serializers.JSONField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    reviews = FeedbackReviewOutput(many=True)
    appeal = serializers.JSONField(allow_null=True)
    can_appeal = serializers.BooleanField()
    can_resubmit = serializers.BooleanField()


class AppealInput(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, allow_blank=True)


class AppealOutput(serializers.Serializer):
    submission = serializers.IntegerField(source="submission_id")
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class MyQualityOutput(serializers.Serializer):
    scores = serializers.JSONField(
        help_text="Per track: score, level, gold accuracy (mean and 90% interval), reviews."
    )
    verdicts = serializers.JSONField()
    actions = serializers.JSONField()


class QualityActionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    contributor = serializers.IntegerField(source="user_id")
    project = serializers.IntegerField(source="project_id", allow_null=True)
    track = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    evidence = serializers.JSONField()
    qualification_code = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class QualityActionDecideInput(serializers.Serializer):
    confirm = serializers.BooleanField()
    note = serializers.CharField(max_length=2000, allow_blank=True, required=False)
