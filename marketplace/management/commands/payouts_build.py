"""Build payout batches: of one closed period, or of every closed period not built yet."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import DomainError
from marketplace.models import Payout, PayoutBatch
from marketplace.services.payouts import batch_build, batches_build_due, payouts_totals


class Command(BaseCommand):
    help = "Build the payout batch of a closed pay period (--period ID), or of every due one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", type=int, help="The pay period's id.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["period"]:
                batches = [batch_build(period_id=options["period"])]
            else:
                batches = list(PayoutBatch.objects.filter(pk__in=batches_build_due()))
        except DomainError as error:
            raise CommandError(error.message) from error
        if not batches:
            self.stdout.write("No closed period is waiting for its batch.")
        for batch in batches:
            totals = payouts_totals(batch)
            amounts = ", ".join(f"{v} {k}" for k, v in totals["amounts"].items()) or "nothing"
            review = Payout.objects.filter(batch=batch, state=Payout.State.REVIEW).count()
            self.stdout.write(
                f"Batch {batch.pk} ({batch.period}): {totals['payouts']} payouts, {amounts}; "
                f"{totals['flagged']} flagged, {review} in review; {batch.carried_count} "
                f"balances under the minimum carried over."
            )
