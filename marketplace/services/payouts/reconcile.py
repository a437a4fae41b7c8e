"""Reconciliation: the ledger's invariants between entries and payouts, checked in SQL.

Each check is one query that finds the rows breaking a rule; a healthy ledger gives none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import connection

logger = logging.getLogger(__name__)

LIMIT = 50  # rows reported per broken rule

CHECKS = (
    (
        "paid_entry_not_in_one_paid_payout",
        "Every paid entry is in exactly one paid payout.",
        """
        SELECT e.id, COUNT(p.id)
        FROM marketplace_earningentry e
        LEFT JOIN marketplace_payoutitem i ON i.entry_id = e.id AND i.released_at IS NULL
        LEFT JOIN marketplace_payout p ON p.id = i.payout_id AND p.state = 'paid'
        WHERE e.state = 'paid'
        GROUP BY e.id
        HAVING COUNT(p.id) <> 1
        ORDER BY e.id
        """,
    ),
    (
        "paid_payout_entry_not_paid",
        "Every entry of a paid payout is paid.",
        """
        SELECT p.id, e.id
        FROM marketplace_payout p
        JOIN marketplace_payoutitem i ON i.payout_id = p.id AND i.released_at IS NULL
        JOIN marketplace_earningentry e ON e.id = i.entry_id
        WHERE p.state = 'paid' AND e.state <> 'paid'
        ORDER BY p.id, e.id
        """,
    ),
    (
        "payout_amount_differs_from_entries",
        "Every payout's amount equals the sum of its entries.",
        """
        SELECT p.id, p.amount, COALESCE(SUM(e.amount), 0), p.entries_count, COUNT(e.id)
        FROM marketplace_payout p
        LEFT JOIN marketplace_payoutitem i ON i.payout_id = p.id AND i.released_at IS NULL
        LEFT JOIN marketplace_earningentry e ON e.id = i.entry_id
        WHERE p.state IN ('review', 'awaiting_second', 'approved', 'sent', 'paid')
        GROUP BY p.id, p.amount, p.entries_count
        HAVING p.amount <> COALESCE(SUM(e.amount), 0) OR p.entries_count <> COUNT(i.id)
            OR COUNT(i.id) <> COUNT(e.id)
        ORDER BY p.id
        """,
    ),
    (
        "entry_reversed_and_paid",
        "No entry is both reversed and paid.",
        """
        SELECT e.id, e.state, r.id
        FROM marketplace_earningentry e
        LEFT JOIN marketplace_earningentry r ON r.reverses_id = e.id
        WHERE (e.state = 'reversed' AND e.paid_at IS NOT NULL)
           OR (e.state = 'reversed' AND EXISTS (
                SELECT 1 FROM marketplace_payoutitem i
                JOIN marketplace_payout p ON p.id = i.payout_id
                WHERE i.entry_id = e.id AND i.released_at IS NULL AND p.state = 'paid'))
           OR (e.state = 'paid' AND r.id IS NOT NULL AND r.state = 'reversed')
        ORDER BY e.id
        """,
    ),
    (
        "released_payout_still_linked",
        "A held or rejected payout links no entry any more.",
        """
        SELECT p.id, i.entry_id
        FROM marketplace_payout p
        JOIN marketplace_payoutitem i ON i.payout_id = p.id AND i.released_at IS NULL
        WHERE p.state IN ('held', 'rejected')
        ORDER BY p.id
        """,
    ),
)


@dataclass
class Break:
    rule: str
    description: str
    rows: list[tuple] = field(default_factory=list)


def ledger_reconcile() -> list[Break]:
    """Run every check; returns the broken rules with up to LIMIT offending rows each, and logs
    each break at ERROR."""
    breaks = []
    with connection.cursor() as cursor:
        for rule, description, sql in CHECKS:
            cursor.execute(f"{sql} LIMIT {LIMIT}")
            rows = [tuple(row) for row in cursor.fetchall()]
            if rows:
                breaks.append(Break(rule, description, rows))
                logger.error(
                    "payouts.reconcile_break",
                    extra={"rule": rule, "rows": [list(map(str, row)) for row in rows[:10]]},
                )
    if not breaks:
        logger.info("payouts.reconciled")
    return breaks
