"""Check the ledger's invariants against the payouts; exits with status 1 on any break."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from marketplace.services.payouts import ledger_reconcile


class Command(BaseCommand):
    help = (
        "Check that every paid entry is in exactly one paid payout, every payout's amount is the "
        "sum of its entries and no entry is both reversed and paid; report every break."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        breaks = ledger_reconcile()
        if not breaks:
            self.stdout.write(self.style.SUCCESS("Ledger reconciled: no breaks."))
            return
        for item in breaks:
            self.stderr.write(self.style.ERROR(f"BROKEN {item.rule}: {item.description}"))
            for row in item.rows:
                self.stderr.write(f"  {row}")
        raise CommandError(f"{len(breaks)} ledger rule(s) broken; see above.")
