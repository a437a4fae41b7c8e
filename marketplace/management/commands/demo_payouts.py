"""Show the finance review of payouts: two finance admins, earnings approved in the past for a
few demo contributors, an earlier batch that was sent and paid (one payout held), and the last
closed period's batch built and waiting for review, some of it flagged (idempotent). Development
only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from contributors import services as accounts
from contributors.management.commands.demo_load import DEMO_PASSWORD
from contributors.models import User
from contributors.roles import Role
from marketplace.models import EarningEntry, Payout, PayoutBatch, PayPeriod, Project
from marketplace.services import ledger
from marketplace.services import payouts as services

FINANCE = (
    ("finance@demo.local", "Fay Finance"),
    ("finance2@demo.local", "Finn Finance"),
)
CHAT = "Chatbot answer comparisons"
SUMMARIES = "Rate summaries for faithfulness"
PYTHON = "Review AI-written Python"
ADVICE = "Financial advice safety review"

# (kind, project, hours or tasks, rate, days before the cut-off the work was done)
Work = tuple[str, str | None, str, str, int]

# What each person earned in the earlier period (paid) and in the last one (to review). The
# demo profiles declare 20 hours a week; Dev's week of 24 hours and his rise are flagged, Ines
# was held last time and this is her first payout, Eve's is above the four-eyes amount.
EARLIER: dict[str, list[Work]] = {
    "contributor@demo.local": [("time", CHAT, "7.5", "24.00", 3)],
    "crowd1@demo.local": [("time", CHAT, "10", "24.00", 4)],
    "crowd2@demo.local": [("time", CHAT, "2.5", "24.00", 2)],
    "crowd3@demo.local": [("time", CHAT, "4", "24.00", 3)],
    "reviewer@demo.local": [("review", PYTHON, "320.00", "", 2)],
    "expert@demo.local": [("time", ADVICE, "16", "55.00", 3)],
}
LAST: dict[str, list[Work]] = {
    "contributor@demo.local": [
        ("time", CHAT, "6", "24.00", 5),
        ("time", CHAT, "5.5", "24.00", 2),
    ],
    "crowd1@demo.local": [
        ("task", SUMMARIES, "10", "2.10", 4),
        ("time", CHAT, "8", "24.00", 2),
    ],
    "crowd2@demo.local": [
        ("time", CHAT, "9", "24.00", 5),
        ("time", CHAT, "8", "24.00", 4),
        ("time", CHAT, "7", "24.00", 3),
    ],
    "crowd3@demo.local": [("time", CHAT, "4", "24.00", 2)],
    "reviewer@demo.local": [("review", PYTHON, "250.00", "", 3)],
    "expert@demo.local": [
        ("time", ADVICE, "11", "55.00", 9),
        ("time", ADVICE, "10", "55.00", 3),
    ],
}
HELD = "crowd3@demo.local"
HELD_REASON = "The bank returned the last transfer; asked Ines to confirm her payout e-mail."


class Command(BaseCommand):
    help = "Payout review demo: finance admins, an earlier paid batch, one to review. DEBUG only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_payouts is for development only (DEBUG is off).")
        staff = User.objects.filter(email="staff@demo.local").first()
        if staff is None or not Project.objects.filter(title=CHAT).exists():
            raise CommandError("Run demo_load and demo_projects first.")
        first, second = (self._finance(email, name) for email, name in FINANCE)
        if EarningEntry.objects.filter(source_type="demo_payouts").exists():
            # Made before: the batches are whatever the finance admins made of them since.
            self.stdout.write("  payouts: demo batches made before; left as they are")
            return
        now = timezone.now()
        if not PayPeriod.objects.exists():
            services.periods_ensure(now=now - timedelta(days=15))
        services.periods_ensure(now=now)
        closed = list(PayPeriod.objects.filter(ends_at__lte=now).order_by("ends_at"))
        if len(closed) < 2 or PayoutBatch.objects.filter(period=closed[-1]).exists():
            self.stdout.write("  payouts: batches exist already; no payout demo added")
            return
        earlier, last = closed[-2], closed[-1]
        for period in closed[:-2]:  # periods are paid in order
            services.batch_build(period_id=period.pk, actor=first)

        self._earn(EARLIER, earlier, staff, "earlier")
        paid = services.batch_build(period_id=earlier.pk, actor=first)
        self._pay(paid, first, second)

        self._earn(LAST, last, staff, "last")
        batch = services.batch_build(period_id=last.pk, actor=first)
        totals = services.payouts_totals(batch)
        self.stdout.write(
            f"  payouts: batch of {last} ready for review, {totals['payouts']} payouts, "
            f"{totals['flagged']} flagged; log in as {FINANCE[0][0]} or {FINANCE[1][0]}"
        )

    def _finance(self, email: str, full_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = accounts.user_create(
                email=email,
                password=DEMO_PASSWORD,
                full_name=full_name,
                roles=(Role.FINANCE_ADMIN,),
                is_staff=True,
                email_verified=True,
            )
        return user

    def _earn(
        self, plan: dict[str, list[Work]], period: PayPeriod, staff: User, label: str
    ) -> None:
        """Write the plan's entries as approved during the period (demo data sets the past)."""
        projects = {project.title: project for project in Project.objects.all()}
        for email, work in plan.items():
            person = User.objects.filter(email=email).first()
            if person is None:
                continue
            for n, (kind, title, quantity, rate, days) in enumerate(work):
                key = f"demo-payouts:{label}:{email}:{n}"
                fields: dict[str, Any] = {}
                if kind == "time":
                    fields = {"hours": Decimal(quantity), "rate": Decimal(rate)}
                    fields["multiplier"] = Decimal("1.00")
                    amount = Decimal(quantity) * Decimal(rate)
                elif kind == "task":
                    amount = Decimal(quantity) * Decimal(rate)
                    fields = {"active_seconds": 360}
                else:
                    amount = Decimal(quantity)
                done = period.ends_at - timedelta(days=days)
                entry, _created = ledger.earning_write(
                    idempotency_key=key,
                    contributor=person,
                    project=projects.get(title) if title else None,
                    kind=kind,
                    amount=amount,
                    currency="USD",
                    work_date=done.date(),
                    source_type="demo_payouts",
                    source_id=key,
                    state=EarningEntry.State.APPROVED,
                    **fields,
                )
                approved_at = max(done, period.starts_at) + timedelta(hours=6)
                EarningEntry.objects.filter(pk=entry.pk).update(
                    approved_at=approved_at, approved_by=staff
                )

    def _pay(self, batch: PayoutBatch, first: User, second: User) -> None:
        """Review the earlier batch as finance would have: hold one, approve the rest (four eyes
        where needed), send them and mark them paid."""
        for payout in batch.payouts.select_related("contributor").order_by("pk"):
            if payout.contributor.email == HELD:
                services.payout_hold(payout_id=payout.pk, actor=first, reason=HELD_REASON)
                continue
            services.payout_approve(payout_id=payout.pk, actor=first)
            if payout.needs_two:
                services.payout_approve(payout_id=payout.pk, actor=second)
        services.payouts_send(batch_id=batch.pk, actor=first)
        sent = list(batch.payouts.filter(state=Payout.State.SENT).values_list("pk", flat=True))
        services.payouts_mark_paid(payout_ids=sent, actor=second)
