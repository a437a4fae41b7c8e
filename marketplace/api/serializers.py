"""Shapes of the marketplace API."""

from __future__ import annotations

from rest_framework import serializers

from common.money import CURRENCIES
from marketplace.models import STANDINGS, EarningEntry, Project, Tier

# The largest id a row can have (a bigint). Django matches nothing for a larger one in an exact
# lookup, but one in an `id__in` list is an OverflowError on SQLite.
ID_MAX = 2**63 - 1


class TierFloorOutput(serializers.Serializer):
    tier = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    effective_from = serializers.DateTimeField()


class TierFloorInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = serializers.ChoiceField(choices=CURRENCIES, default="USD")
    effective_from = serializers.DateTimeField(required=False)
    reason = serializers.CharField(max_length=2000)


class MultiplierOutput(serializers.Serializer):
    standing = serializers.CharField()
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    effective_from = serializers.DateTimeField()


class MultiplierInput(serializers.Serializer):
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    effective_from = serializers.DateTimeField(required=False)
    reason = serializers.CharField(max_length=2000)


class StandingInput(serializers.Serializer):
    standing = serializers.ChoiceField(choices=STANDINGS)
    reason = serializers.CharField(max_length=2000)


class ProjectInput(serializers.Serializer):
    """A project's fields. On PATCH, fields left out stay; a list given replaces the old one."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=50_000, help_text="Markdown.")
    instructions = serializers.CharField(max_length=100_000, required=False, allow_blank=True)
    deliverables = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    tier = serializers.ChoiceField(choices=Tier.choices)
    pay_model = serializers.ChoiceField(
        choices=Project.PayModel.choices, default=Project.PayModel.HOURLY
    )
    pay_rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, help_text="Per hour."
    )
    currency = serializers.ChoiceField(choices=CURRENCIES, default="USD")
    task_minutes = serializers.IntegerField(
        min_value=1, max_value=24 * 60, required=False, allow_null=True
    )
    time_commitment = serializers.CharField(max_length=200, required=False, allow_blank=True)
    capacity = serializers.IntegerField(min_value=1, max_value=1_000_000, default=50)
    priority = serializers.IntegerField(min_value=-1000, max_value=1000, default=0)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    requires_all = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
    )
    requires_any = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=10), required=False, max_length=50
    )


class ProjectTransitionInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Project.Status.choices)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ProjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    instructions = serializers.CharField()
    deliverables = serializers.CharField()
    tier = serializers.CharField()
    pay_model = serializers.CharField()
    pay_rate = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    task_minutes = serializers.IntegerField(allow_null=True)
    time_commitment = serializers.CharField()
    capacity = serializers.IntegerField()
    members = serializers.IntegerField(source="members_now")
    priority = serializers.IntegerField()
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    requires_all = serializers.SerializerMethodField()
    requires_any = serializers.SerializerMethodField()
    languages = serializers.SerializerMethodField()

    def get_requires_all(self, project: Project) -> list[str]:
        return [r.code for r in project.requirements.all() if r.mode == "all"]

    def get_requires_any(self, project: Project) -> list[str]:
        return [r.code for r in project.requirements.all() if r.mode == "any"]

    def get_languages(self, project: Project) -> list[str]:
        return [language.language for language in project.languages.all()]


class UnlockHintOutput(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.CharField()


class DashboardProjectOutput(serializers.Serializer):
    project = ProjectOutput()
    effective_rate = serializers.DecimalField(max_digits=12, decimal_places=2)
    seats_left = serializers.IntegerField()
    joined = serializers.BooleanField()
    work_left = serializers.IntegerField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    unlock = UnlockHintOutput(many=True)


class DashboardFilterInput(serializers.Serializer):
    eligibility = serializers.ChoiceField(
        choices=[("open", "Open to me"), ("locked", "Not yet open")], default="open"
    )
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    language = serializers.CharField(max_length=10, required=False)
    pay_model = serializers.ChoiceField(choices=Project.PayModel.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=25)
    offset = serializers.IntegerField(min_value=0, default=0)


class DashboardOutput(serializers.Serializer):
    count = serializers.IntegerField()
    standing = serializers.CharField()
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    results = DashboardProjectOutput(many=True)


class MembershipOutput(serializers.Serializer):
    project = serializers.IntegerField(source="project_id")
    joined_at = serializers.DateTimeField()
    left_at = serializers.DateTimeField(allow_null=True)


class SessionStartInput(serializers.Serializer):
    project = serializers.IntegerField(min_value=1)


class SessionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    source = serializers.CharField()
    started_at = serializers.DateTimeField()
    last_heartbeat_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()
    rate = serializers.DecimalField(max_digits=12, decimal_places=2)
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2)
    currency = serializers.CharField()
    seconds = serializers.IntegerField()


class ManualEntryInput(serializers.Serializer):
    project = serializers.IntegerField(min_value=1)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class ManualEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    reason = serializers.CharField()
    status = serializers.CharField()
    decision_note = serializers.CharField()


class ManualEntryDecisionInput(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EarningOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id", allow_null=True)
    kind = serializers.CharField()
    state = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    hours = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
    rate = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    work_date = serializers.DateField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class EarningFilterInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=EarningEntry.State.choices, required=False)
    project = serializers.IntegerField(min_value=1, required=False)


class TotalsOutput(serializers.Serializer):
    pending = serializers.DecimalField(max_digits=12, decimal_places=2)
    approved = serializers.DecimalField(max_digits=12, decimal_places=2)
    paid = serializers.DecimalField(max_digits=12, decimal_places=2)


class ProjectEarningsOutput(serializers.Serializer):
    project_id = serializers.IntegerField(allow_null=True)
    project = serializers.CharField()
    pending = serializers.DecimalField(max_digits=12, decimal_places=2)
    approved = serializers.DecimalField(max_digits=12, decimal_places=2)
    paid = serializers.DecimalField(max_digits=12, decimal_places=2)


class WeekEarningsOutput(serializers.Serializer):
    week = serializers.DateField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)


class EarningsSummaryOutput(serializers.Serializer):
    currency = serializers.CharField()
    totals = TotalsOutput()
    by_project = ProjectEarningsOutput(many=True)
    by_week = WeekEarningsOutput(many=True)


class EarningsApproveInput(serializers.Serializer):
    entries = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX), min_length=1, max_length=1000
    )


class CountOutput(serializers.Serializer):
    count = serializers.IntegerField()


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class AdjustmentInput(serializers.Serializer):
    contributor = serializers.IntegerField(min_value=1)
    project = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=[("bonus", "Bonus"), ("adjustment", "Adjustment")])
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.ChoiceField(choices=CURRENCIES, default="USD")
    reason = serializers.CharField(max_length=2000)
    key = serializers.CharField(
        max_length=100, help_text="Your id for this request: a retry with it adds nothing."
    )


class FairPayOutput(serializers.Serializer):
    project = serializers.IntegerField(source="project.pk")
    title = serializers.CharField(source="project.title")
    tasks = serializers.IntegerField()
    median_minutes = serializers.DecimalField(max_digits=9, decimal_places=1)
    task_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    effective_rate = serializers.DecimalField(max_digits=12, decimal_places=2)
    floor = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    below_floor = serializers.BooleanField()
