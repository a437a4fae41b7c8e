"""Payout benchmark: build a week's payout batch over 100,000 contributors and 10,000,000 entries.

    python3 dev.py bench payouts                       # seeds once, then measures
    python3 dev.py bench payouts --setups tenth,full   # without the worst case
    python3 dev.py bench payouts --rounds 3
    python3 dev.py bench payouts --no-wait             # measure beside other work (upper bounds)
    python3 dev.py bench payouts --reseed              # drop the databases, seed anew

Three setups, each in its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/evalmarket_bench_payouts, and the same name with the
suffixes _small and _backlog), migrated through Django and seeded once with set-based SQL
(generate_series INSERT … SELECT into staging tables, then the ledger in transactions of
500,000 entries); the seed is kept and reused until --reseed:

  full     100,000 contributors, 300 projects, 10,000,000 ledger entries over ~19.4 weeks of
           weekly pay periods (Monday 00:00 UTC). Periods 1-18 have their batches built and
           paid (payouts, payout items, entries paid), except that in the last of them 5% of
           the payouts are sent but not yet paid and 0.4% are held (their entries released);
           period 19, the last closed one, has its approved entries waiting to be built, and
           the open period 20 has pending entries and some approved after the cut-off.
  tenth    the same at a tenth of the size: 10,000 contributors, 1,000,000 entries (to show
           that the building process's memory does not grow with the entries).
  backlog  the worst case: 100,000 contributors and 10,000,000 entries, all approved before
           the cut-off and never paid, and one closed period: its batch links every entry.

Each build runs `batch_build` (as the beat job does: actor None, PAYOUT_BUILD_CHUNK as set) in
a fresh Python process, once no other benchmark is at work and no pytest runs, after the cache
has been warmed with the tables it reads; it reports the wall time, the peak resident set of
the building process (VmHWM reset just before, and sampled every 20 ms), that of its PostgreSQL
backend, the payouts, the links, the flags by code, the chunks and the SQL time by step (each
statement is charged to the line of the service that ran it). Between rounds the built batch
is removed (its flags, items, payouts, audit rows; the guard triggers on payout items and the
audit log are disabled for that delete only, in its transaction) and the tables vacuumed.
When the full build misses the 60 s goal, one more build runs with EXPLAIN (ANALYZE, BUFFERS)
of every statement of two chunks (run first in a savepoint that is rolled back). Results go to
bench/results/payouts.json and the table in bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evalmarket_bench_payouts"
)
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["LOG_LEVEL"] = "WARNING"


@dataclass(frozen=True)
class Setup:
    name: str
    suffix: str
    contributors: int
    entries: int
    backlog: bool

    @property
    def url(self) -> str:
        return BENCH_URL + self.suffix


SETUPS = {
    "tenth": Setup("tenth", "_small", 10_000, 1_000_000, backlog=False),
    "full": Setup("full", "", 100_000, 10_000_000, backlog=False),
    "backlog": Setup("backlog", "_backlog", 100_000, 10_000_000, backlog=True),
}
PROJECTS = 300
WEEKS = 19  # closed periods; the 19th is the one measured, the 20th is open
CHUNK_SLOTS = 500_000  # entries per INSERT … SELECT transaction while seeding
MINIMUM = 10  # PayoutSettings.minimum_amount's default: smaller balances are carried
FOUR_EYES = 1000
GOAL_SECONDS = 60.0
FLAT = 1.25  # the full build's peak memory may exceed the tenth's by at most 25%
ROUNDS = 2
SAMPLE_SECONDS = 0.02
BUSY_WARNING = 0.10
FINANCE = ("payouts-finance-1@bench.local", "payouts-finance-2@bench.local")
# Measuring waits while any of these runs (regular expressions for pgrep -f): another
# benchmark of bench/, or a test run.
OTHERS = (r"bench/[a-z_]+\.py", "pytest")
MINE = "bench/payouts.py"
# Statements EXPLAIN can show (not the temporary table's CREATE, TRUNCATE or ANALYZE, nor SET).
EXPLAINABLE = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
WATCH_SECONDS = 2.0
IDLE_SECONDS = 30.0  # a benchmark that used no CPU this long is waiting, not at work
IDLE_CPU = 0.2
QUIET_WAIT = 60.0
APPS = ("common", "config", "contributors", "marketplace")
STAGING = (
    "bench_link",
    "bench_group",
    "bench_walk",
    "bench_weekly",
    "bench_entry",
    "bench_base",
    "bench_projects",
    "bench_people",
)
LOADED = ("marketplace_earningentry", "marketplace_payout", "marketplace_payoutitem")
WARM = (
    "marketplace_earningentry",
    "marketplace_payoutitem",
    "marketplace_payout",
    "contributors_user",
    "contributors_contributorprofile",
    "contributors_qualityscore",
)


def u(expr: str, seed: int) -> str:
    """SQL for a deterministic number in [0, 1) drawn from an integer expression and a seed."""
    return f"((hashint8extended(({expr})::bigint, {seed}) & 2147483647)::float8 / 2147483648.0)"


# The contributors: i orders them by how much they work (20% light, about 10 entries in all;
# 50% medium, 54; 25% regular, 180; 5% heavy, 520), g = i × 7919 mod C spreads the classes over
# the ids (id = base + g), so that each chunk of the build gets its share of every class.
PEOPLE_SQL = """
CREATE UNLOGGED TABLE bench_people AS
SELECT i, g, %(user_base)s::bigint + g AS id,
    CASE WHEN i < {light} THEN 0 WHEN i < {medium} THEN 1 WHEN i < {regular} THEN 2 ELSE 3
    END AS cls,
    -- 85 in 100 worked from the first week, 12 joined later, 3 in the measured week
    CASE WHEN {j} < 0.85 THEN %(start)s::timestamptz
        WHEN {j} < 0.97 THEN %(start)s::timestamptz + ({j} - 0.85) / 0.12 * interval '18 weeks'
        ELSE %(cut18)s::timestamptz + ({j} - 0.97) / 0.03 * interval '6 days'
    END AS joined_at,
    (CASE WHEN {m} < 0.70 THEN 1.00 WHEN {m} < 0.93 THEN 1.10 ELSE 1.25 END)::numeric(4, 2)
        AS multiplier,
    floor({p0} * {projects})::int AS p0,
    -- 5 in 1,000 answer tasks far faster than their projects' people, 3 far slower
    CASE WHEN {speed} < 0.005 THEN 0.12 WHEN {speed} > 0.997 THEN 5.0 ELSE 1.0 END AS speed,
    -- 1 in 100 has a third of their tasks rejected in review, the others 2 in 100
    CASE WHEN {sloppy} < 0.01 THEN 0.30 ELSE 0.02 END AS reject_share,
    {surge} < 0.01 AS surge,
    CASE WHEN {declared} < 0.80 THEN 5 + floor({hours} * 36)::int END AS weekly_hours,
    -- 5 in 100 gave no payout e-mail; 3 in 1,000 the next person's (half in capitals)
    CASE WHEN {email} < 0.05 THEN ''
        WHEN {shared} < 0.0015 THEN 'Payee' || mod(g + 1, {count}) || '@Pay.Bench.Local'
        WHEN {shared} < 0.003 THEN 'payee' || mod(g + 1, {count}) || '@pay.bench.local'
        ELSE 'payee' || g || '@pay.bench.local'
    END AS payout_email,
    -- what finance did with the person's payout of period 18
    CASE WHEN {fate} < 0.004 THEN 'held' WHEN {fate} < 0.054 THEN 'sent' ELSE 'paid' END AS fate
FROM (SELECT i, mod(i * 7919, {count}) AS g FROM generate_series(0, {count} - 1) AS i) AS x
"""

PROJECTS_SQL = """
CREATE UNLOGGED TABLE bench_projects AS
SELECT p, %(project_base)s::bigint + p AS id, mod(p, 3) = 0 AS hourly,
    (15 + mod(p * 7, 46))::numeric(12, 2) AS rate, 2 + mod(p * 5, 19) AS minutes,
    CASE WHEN mod(p, 20) = 7 THEN 'EUR' ELSE 'USD' END AS currency
FROM generate_series(0, {projects} - 1) AS p
"""

# One row per slot s: the entry it would be by itself. Odd slots may carry a role that makes
# the next (even) slot their reversal (a task rejected in review before approval; a paid task
# clawed back in the measured week) or a negative adjustment approved with them.
BASE_SQL = """
INSERT INTO bench_base
WITH drawn AS (
    SELECT s, {v} AS v, {pick} AS pick, {kv} AS kv, {q5} AS q5, {q6} AS q6, {q7} AS q7,
        {q8} AS q8, {q9} AS q9, {q10} AS q10, {q21} AS q21
    FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS s
), slot AS (
    SELECT *, (CASE
        WHEN v < 0.02 THEN least({light} - 1, floor({light} * v / 0.02))
        WHEN v < 0.29 THEN least({medium} - 1, {light} + floor({medium_n} * (v - 0.02) / 0.27))
        WHEN v < 0.74 THEN least({regular} - 1, {medium} + floor({regular_n} * (v - 0.29) / 0.45))
        ELSE least({count} - 1, {regular} + floor({heavy_n} * (v - 0.74) / 0.26))
    END)::bigint AS i
    FROM drawn
), worked AS (
    SELECT slot.*, pe.g, pe.id AS contributor_id, pe.cls, pe.multiplier, pe.speed,
        pe.reject_share, pr.id AS project_id, pr.rate, pr.minutes, pr.currency,
        CASE WHEN kv < 0.006 THEN 'bonus' WHEN kv < 0.086 THEN 'review'
            WHEN pr.hourly THEN 'time' ELSE 'task' END AS kind,
        CASE WHEN pe.surge AND q6 < 0.35
            THEN greatest(pe.joined_at, %(cut18)s::timestamptz) + q7
                * (%(cut19)s::timestamptz - greatest(pe.joined_at, %(cut18)s::timestamptz))
            ELSE pe.joined_at + q7 * (%(end)s::timestamptz - pe.joined_at)
        END AS worked_at
    FROM slot
    JOIN bench_people AS pe ON pe.i = slot.i
    JOIN bench_projects AS pr ON pr.p = mod(pe.p0 + CASE WHEN pick < 0.6 THEN 0
        WHEN pick < 0.9 THEN 97 ELSE 194 END, {projects})
), priced AS (
    SELECT *,
        CASE WHEN kind = 'time' THEN round((0.25 + q5 * 3.75)::numeric, 4) END AS hours,
        CASE WHEN kind = 'review' THEN 5 + floor(q5 * 26)::int END AS review_minutes
    FROM worked
), timed AS (
    SELECT *, least(worked_at + coalesce(hours, 0) * interval '1 hour',
        %(end)s::timestamptz - interval '1 minute') AS created_at
    FROM priced
), approved AS (
    SELECT *, CASE
        WHEN %(backlog)s THEN least(created_at + (2 + q8 * 70) * interval '1 hour',
            %(cut19)s::timestamptz - interval '1 second')
        WHEN created_at + (2 + q8 * 70) * interval '1 hour' <= %(end)s::timestamptz
            THEN created_at + (2 + q8 * 70) * interval '1 hour'
    END AS approved_at
    FROM timed
)
SELECT s, g, contributor_id, cls, kind,
    CASE WHEN kind = 'bonus' AND q6 < 0.5 THEN NULL ELSE project_id END,
    currency,
    CASE kind WHEN 'time' THEN round(hours * rate * multiplier, 2)
        WHEN 'task' THEN round(rate * minutes / 60.0 * multiplier, 2)
        WHEN 'review' THEN round(rate * review_minutes / 60.0 * multiplier, 2)
        ELSE (5 + floor(q5 * 46))::numeric(12, 2)
    END,
    hours,
    CASE WHEN kind <> 'bonus' THEN rate END,
    CASE WHEN kind <> 'bonus' THEN multiplier END,
    CASE kind WHEN 'task' THEN greatest(1, round(minutes * 60 * (0.4 + 1.2 * q5) * speed))::int
        WHEN 'review' THEN review_minutes * 60 END,
    (worked_at AT TIME ZONE 'UTC')::date,
    created_at,
    approved_at,
    CASE WHEN mod(s, 2) = 0 THEN 'plain'
        WHEN NOT %(backlog)s AND kind = 'task' AND q9 < 2 * reject_share THEN 'reject'
        WHEN NOT %(backlog)s AND kind = 'task' AND cls = 3 AND currency = 'USD' AND q10 < 0.05
            AND approved_at >= %(cut16)s::timestamptz AND approved_at < %(cut17)s::timestamptz
            THEN 'clawback'
        WHEN q21 < 0.006 THEN 'adjust'
        ELSE 'plain'
    END
FROM approved
"""

BASE_TABLE_SQL = """
CREATE UNLOGGED TABLE bench_base (
    s bigint, g bigint, contributor_id bigint, cls int, kind text, project_id bigint,
    currency text, amount numeric(12, 2), hours numeric(9, 4), rate numeric(12, 2),
    multiplier numeric(4, 2), active_seconds int, work_date date, created_at timestamptz,
    approved_at timestamptz, role text
)
"""

# The ledger as it will be written: an even slot after a slot with a role becomes the derived
# entry; ids follow created_at, as a ledger appended to over time has them; `week` is the pay
# period the approval falls in.
ENTRY_SQL = """
CREATE UNLOGGED TABLE bench_entry AS
SELECT row_number() OVER (ORDER BY created_at, s) AS id, x.*,
    floor(extract(epoch FROM approved_at - %(start)s::timestamptz) / 604800)::int + 1 AS week
FROM (
    SELECT b.s,
        coalesce(par.contributor_id, b.contributor_id) AS contributor_id,
        coalesce(par.g, b.g) AS g,
        CASE par.role WHEN 'adjust' THEN 'adjustment' WHEN 'reject' THEN 'reversal'
            WHEN 'clawback' THEN 'reversal' ELSE b.kind END AS kind,
        CASE WHEN par.s IS NULL THEN b.project_id ELSE par.project_id END AS project_id,
        coalesce(par.currency, b.currency) AS currency,
        CASE par.role WHEN 'adjust' THEN -greatest(0.01, round(par.amount * 0.4, 2))
            WHEN 'reject' THEN -par.amount WHEN 'clawback' THEN -par.amount
            ELSE b.amount END AS amount,
        CASE WHEN par.s IS NULL THEN b.hours END AS hours,
        CASE WHEN par.s IS NULL THEN b.rate END AS rate,
        CASE WHEN par.s IS NULL THEN b.multiplier END AS multiplier,
        CASE WHEN par.s IS NULL THEN b.active_seconds END AS active_seconds,
        coalesce(par.work_date, b.work_date) AS work_date,
        CASE par.role
            WHEN 'reject' THEN least(par.created_at + (1 + 23 * {q22}) * interval '1 hour',
                %(end)s::timestamptz - interval '1 minute')
            WHEN 'clawback' THEN %(cut18)s::timestamptz + interval '12 hours'
                + {q22} * interval '5 days'
            WHEN 'adjust' THEN par.created_at + interval '1 minute'
            ELSE b.created_at
        END AS created_at,
        CASE par.role
            WHEN 'reject' THEN NULL
            WHEN 'clawback' THEN %(cut18)s::timestamptz + interval '12 hours'
                + {q22} * interval '5 days'
            WHEN 'adjust' THEN par.approved_at
            ELSE CASE WHEN b.role = 'reject' THEN NULL ELSE b.approved_at END
        END AS approved_at,
        CASE
            WHEN par.role = 'reject' OR (par.s IS NULL AND b.role = 'reject') THEN 'reversed'
            WHEN par.role = 'clawback' THEN 'approved'
            WHEN coalesce(par.approved_at, b.approved_at) IS NULL THEN 'pending'
            ELSE 'approved'
        END AS state,
        CASE WHEN par.role IN ('reject', 'clawback') THEN par.s END AS reverses_s,
        CASE WHEN par.s IS NULL THEN b.role ELSE 'derived' END AS role,
        par.role IN ('adjust', 'clawback') OR (par.s IS NULL AND b.kind = 'bonus') AS by_staff,
        CASE par.role WHEN 'reject' THEN 'Rejected in review'
            WHEN 'clawback' THEN 'Duplicate submission found after payment'
            WHEN 'adjust' THEN 'Correction: the same time was logged twice'
            ELSE CASE WHEN b.kind = 'bonus' THEN 'Quality bonus' ELSE '' END
        END AS reason
    FROM bench_base AS b
    LEFT JOIN (SELECT * FROM bench_base WHERE role <> 'plain') AS par ON par.s = b.s - 1
) AS x
"""

# The payouts of periods 1-18, as the service makes them: each week a person's unpaid approved
# balance (per currency) is paid when it reaches the minimum, and carried to the next week when
# it does not (a balance with a clawed-back entry is always paid, so that entry is paid). The
# walk goes week by week over every person and currency; `pay_week` is the week that pays the
# entries approved in `week` (NULL: still carried at the measured period).
WEEKLY_SQL = """
CREATE UNLOGGED TABLE bench_weekly AS
SELECT contributor_id, g, currency, week, sum(amount) AS amount,
    bool_or(role = 'clawback') AS clawed
FROM bench_entry
WHERE state = 'approved' AND week <= %(last_paid)s
GROUP BY contributor_id, g, currency, week
"""

WALK_SQL = """
CREATE UNLOGGED TABLE bench_walk AS
WITH RECURSIVE walk (contributor_id, g, currency, week, balance, paid) AS (
    SELECT DISTINCT contributor_id, g, currency, 0, 0::numeric, true FROM bench_weekly
    UNION ALL
    SELECT w.contributor_id, w.g, w.currency, w.week + 1,
        CASE WHEN w.paid THEN 0 ELSE w.balance END + coalesce(x.amount, 0),
        CASE WHEN w.paid THEN 0 ELSE w.balance END + coalesce(x.amount, 0) >= %(minimum)s
            OR coalesce(x.clawed, false)
    FROM walk AS w
    LEFT JOIN bench_weekly AS x ON x.contributor_id = w.contributor_id
        AND x.currency = w.currency AND x.week = w.week + 1
    WHERE w.week < %(last_paid)s
)
SELECT *, min(CASE WHEN paid THEN week END) OVER (PARTITION BY contributor_id, currency
    ORDER BY week DESC) AS pay_week
FROM walk
WHERE week > 0
"""

GROUP_SQL = """
CREATE UNLOGGED TABLE bench_group AS
SELECT row_number() OVER (ORDER BY x.week, x.contributor_id, x.currency) AS payout_id, x.*,
    CASE WHEN x.week = %(last_paid)s THEN pe.fate ELSE 'paid' END AS fate,
    pe.payout_email
FROM (
    SELECT e.contributor_id, e.g, e.currency, w.pay_week AS week, sum(e.amount) AS amount,
        count(*) AS entries
    FROM bench_entry AS e
    JOIN bench_walk AS w ON w.contributor_id = e.contributor_id AND w.currency = e.currency
        AND w.week = e.week
    WHERE e.state = 'approved' AND w.pay_week IS NOT NULL
    GROUP BY e.contributor_id, e.g, e.currency, w.pay_week
) AS x
JOIN bench_people AS pe ON pe.g = x.g
"""

# For each person, currency and week of approval: the payout that pays those entries.
LINK_SQL = """
CREATE UNLOGGED TABLE bench_link AS
SELECT w.contributor_id, w.currency, w.week, gr.payout_id, gr.week AS pay_week, gr.fate
FROM bench_walk AS w
JOIN bench_group AS gr ON gr.contributor_id = w.contributor_id AND gr.currency = w.currency
    AND gr.week = w.pay_week
"""

LEDGER_SQL = """
INSERT INTO marketplace_earningentry (id, kind, state, amount, currency, hours, rate,
    multiplier, active_seconds, work_date, source_type, source_id, idempotency_key, reason,
    created_at, approved_at, paid_at, approved_by_id, contributor_id, created_by_id,
    reverses_id, project_id)
SELECT e.id, e.kind, CASE WHEN gr.fate = 'paid' THEN 'paid' ELSE e.state END,
    e.amount, e.currency, e.hours, e.rate, e.multiplier, e.active_seconds, e.work_date,
    CASE e.kind WHEN 'time' THEN 'work_session' WHEN 'task' THEN 'task'
        WHEN 'review' THEN 'review' WHEN 'reversal' THEN 'earning_entry' ELSE 'staff' END,
    CASE e.kind WHEN 'task' THEN 'submission:' || e.s WHEN 'reversal' THEN par.id::text
        WHEN 'bonus' THEN 'bench-' || e.s WHEN 'adjustment' THEN 'bench-' || e.s
        ELSE e.s::text END,
    CASE e.kind WHEN 'time' THEN 'session:' || e.s WHEN 'task' THEN 'task:submission:' || e.s
        WHEN 'review' THEN 'review:' || e.s WHEN 'reversal' THEN 'reversal:' || par.id
        ELSE e.kind || ':bench-' || e.s END,
    e.reason, e.created_at, e.approved_at,
    CASE WHEN gr.fate = 'paid'
        THEN %(start)s::timestamptz + gr.pay_week * interval '7 days' + interval '2 days' END,
    CASE WHEN e.approved_at IS NOT NULL AND e.kind <> 'reversal' THEN %(approver)s END,
    e.contributor_id, CASE WHEN e.by_staff THEN %(approver)s END, par.id, e.project_id
FROM bench_entry AS e
LEFT JOIN bench_link AS gr ON e.state = 'approved' AND gr.contributor_id = e.contributor_id
    AND gr.currency = e.currency AND gr.week = e.week
LEFT JOIN bench_entry AS par ON par.s = e.reverses_s
WHERE e.id BETWEEN %(low)s AND %(high)s
ORDER BY e.id
"""

PAYOUTS_SQL = """
INSERT INTO marketplace_payout (id, currency, amount, entries_count, payout_email, state,
    flagged, needs_two, first_approved_at, approved_at, decided_at, reason, provider_reference,
    sent_at, paid_at, attempts, last_error, created_at, approved_by_id, contributor_id,
    decided_by_id, first_approved_by_id, paid_by_id, batch_id, dispatch_id)
SELECT gr.payout_id, gr.currency, gr.amount, gr.entries, gr.payout_email, gr.fate, false,
    gr.amount >= %(four_eyes)s,
    CASE WHEN gr.fate <> 'held' AND gr.amount >= %(four_eyes)s
        THEN %(cutoff)s::timestamptz + interval '1 day' END,
    CASE WHEN gr.fate <> 'held' THEN %(cutoff)s::timestamptz + interval '25 hours' END,
    CASE WHEN gr.fate = 'held' THEN %(cutoff)s::timestamptz + interval '1 day' END,
    CASE WHEN gr.fate = 'held'
        THEN 'Hours far above the declared availability; asked the contributor to confirm them.'
        ELSE '' END,
    CASE WHEN gr.fate <> 'held' THEN 'EM-' || %(batch)s || '-' || gr.payout_id ELSE '' END,
    CASE WHEN gr.fate <> 'held' THEN %(cutoff)s::timestamptz + interval '26 hours' END,
    CASE WHEN gr.fate = 'paid' THEN %(cutoff)s::timestamptz + interval '2 days' END,
    CASE WHEN gr.fate <> 'held' THEN 1 ELSE 0 END, '',
    %(cutoff)s::timestamptz + interval '10 minutes',
    CASE WHEN gr.fate = 'held' THEN NULL
        WHEN gr.amount >= %(four_eyes)s THEN %(second)s ELSE %(first)s END,
    gr.contributor_id,
    CASE WHEN gr.fate = 'held' THEN %(first)s END,
    CASE WHEN gr.fate <> 'held' AND gr.amount >= %(four_eyes)s THEN %(first)s END,
    CASE WHEN gr.fate = 'paid' THEN %(first)s END,
    %(batch)s, NULL
FROM bench_group AS gr
WHERE gr.week = %(week)s
ORDER BY gr.payout_id
"""

ITEMS_SQL = """
INSERT INTO marketplace_payoutitem (payout_id, entry_id, released_at)
SELECT gr.payout_id, e.id, CASE WHEN gr.fate = 'held'
    THEN %(start)s::timestamptz + gr.pay_week * interval '7 days' + interval '1 day' END
FROM bench_entry AS e
JOIN bench_link AS gr ON gr.contributor_id = e.contributor_id AND gr.currency = e.currency
    AND gr.week = e.week
WHERE e.state = 'approved' AND e.id BETWEEN %(low)s AND %(high)s
ORDER BY e.id
"""

USERS_SQL = """
INSERT INTO contributors_user (id, password, last_login, is_superuser, email, full_name,
    is_active, is_staff, date_joined, email_verified_at)
SELECT id, '!bench', NULL, false, 'payee' || g || '@bench.local', 'Payee ' || g, true, false,
    joined_at - interval '3 days', joined_at - interval '3 days'
FROM bench_people ORDER BY id
"""

PROFILES_SQL = """
INSERT INTO contributors_contributorprofile (user_id, status, status_changed_at,
    application_submitted_at, education_level, years_experience, programming_languages,
    expertise_areas, country, time_zone, weekly_availability_hours, payout_email, created_at,
    updated_at)
SELECT id, 'active', joined_at - interval '1 day', joined_at - interval '2 days', '', NULL,
    '[]', '[]', '', 'UTC', weekly_hours, payout_email, joined_at - interval '3 days',
    joined_at - interval '1 day'
FROM bench_people ORDER BY id
"""

GROUPS_SQL = """
INSERT INTO contributors_user_groups (user_id, group_id)
SELECT pe.id, gr.id FROM bench_people AS pe, auth_group AS gr WHERE gr.name = 'contributor'
"""

# 40% have a gold accuracy in the general track; about 5% of those are under 0.60.
SCORES_SQL = """
INSERT INTO contributors_qualityscore (user_id, track, score, level, gold_mean, gold_low,
    gold_high, gold_answered, review_mean, reviews, agreement, agreement_answers, evidence,
    computed_at)
SELECT id, 'general', gold, CASE WHEN gold < 0.6 THEN 'at_risk' WHEN gold < 0.75 THEN 'watch'
    ELSE 'good' END, gold, greatest(0, gold - 0.08), least(1, gold + 0.06), answered, NULL, 0,
    NULL, 0, '{{}}', %(cut18)s
FROM (
    SELECT id, 0.97 - 0.45 * power({gold}, 4) AS gold, 5 + floor({answered} * 300)::int AS answered
    FROM bench_people WHERE {scored} < 0.4
) AS scored
"""

PROJECT_ROWS_SQL = """
INSERT INTO marketplace_project (id, title, description, instructions, deliverables, tier,
    pay_model, pay_rate, currency, task_minutes, time_commitment, capacity, priority, starts_on,
    ends_on, status, created_at, updated_at, created_by_id)
SELECT id, 'Payout bench project ' || p, 'Rate and compare model answers.', '', '',
    (ARRAY['general', 'coding', 'stem', 'professional', 'multilingual'])[1 + mod(p, 5)],
    CASE WHEN hourly THEN 'hourly' ELSE 'per_task' END, rate, currency,
    CASE WHEN hourly THEN NULL ELSE minutes END, '', 200, mod(p, 10), NULL, NULL, 'active',
    %(start)s::timestamptz - interval '30 days', %(start)s::timestamptz - interval '30 days',
    NULL
FROM bench_projects ORDER BY id
"""


def anchor(backlog: bool) -> dict[str, datetime]:
    """The period bounds: the measured period (19) ends on the last Monday 00:00 UTC at least
    three days ago; the data run until three days after it (until its cut-off in the backlog)."""
    now = datetime.now(UTC)
    day = (now - timedelta(days=3)).date()
    monday = day - timedelta(days=day.weekday())
    cut19 = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    start = cut19 - timedelta(weeks=WEEKS)
    return {
        "start": start,
        "cut16": start + timedelta(weeks=16),
        "cut17": start + timedelta(weeks=17),
        "cut18": start + timedelta(weeks=18),
        "cut19": cut19,
        "end": cut19 if backlog else cut19 + timedelta(days=3),
    }


def admin_url() -> str:
    return BENCH_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"


def psycopg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://")


def seed_record(setup: Setup) -> dict[str, Any] | None:
    """What the finished seeding of this setup recorded (None: not seeded, or cut short)."""
    import psycopg

    name = setup.url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone():
            return None
    with psycopg.connect(psycopg_url(setup.url), autocommit=True) as connection:
        found = connection.execute("SELECT to_regclass('bench_seed') IS NOT NULL").fetchone()
        if not found or not found[0]:
            return None
        row = connection.execute("SELECT data FROM bench_seed").fetchone()
        return row[0] if row else None


def recreate_database(setup: Setup) -> None:
    import psycopg

    name = setup.url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def run_sql(cursor: Any, label: str, sql: str, params: dict[str, Any] | None = None) -> int:
    started = time.monotonic()
    cursor.execute(sql, params or {})
    print(
        f"bench: {label}: {max(cursor.rowcount, 0):,} rows in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return cursor.rowcount


def schema(cursor: Any) -> list[tuple[str, str, str, str]]:
    """The unique and foreign-key constraints and the other indexes of the loaded tables."""
    cursor.execute(
        """
        SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE conrelid = ANY(%(tables)s::regclass[]) AND contype IN ('u', 'f')
        UNION ALL
        SELECT tablename, indexname, 'i', indexdef
        FROM pg_indexes
        WHERE tablename = ANY(%(tables)s) AND indexname NOT IN (
            SELECT conname FROM pg_constraint
            WHERE conrelid = ANY(%(tables)s::regclass[]) AND contype IN ('p', 'u'))
        ORDER BY 1, 2
        """,
        {"tables": list(LOADED)},
    )
    return [tuple(row) for row in cursor.fetchall()]


def keys_drop(cursor: Any) -> list[tuple[str, str, str, str]]:
    """Drop the loaded tables' secondary indexes, unique and foreign keys (the primary keys and
    check constraints stay), to load them fast; returns what to put back."""
    found = schema(cursor)
    for table, name, kind, _definition in found:
        if kind == "i":
            cursor.execute(f'DROP INDEX "{name}"')
        else:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return found


def keys_restore(cursor: Any, found: list[tuple[str, str, str, str]]) -> None:
    """Build the indexes again, then the unique keys, then the foreign keys (validated)."""
    order = {"i": 0, "u": 1, "f": 2}
    for table, name, kind, definition in sorted(found, key=lambda row: order[row[2]]):
        started = time.monotonic()
        if kind == "i":
            cursor.execute(definition)
        else:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        print(f"bench: {name} in {time.monotonic() - started:.0f} s", flush=True)
    after = schema(cursor)
    assert after == found, (after, found)


def finance_users() -> list[int]:
    from contributors.models import User
    from contributors.services import user_create

    ids = []
    for n, email in enumerate(FINANCE, start=1):
        user = User.objects.filter(email=email).first() or user_create(
            email=email,
            password=None,
            full_name=f"Payout bench finance {n}",
            roles=("finance_admin",),
            is_staff=True,
            email_verified=True,
        )
        ids.append(user.pk)
    return ids


def seed_child(setup: Setup) -> dict[str, Any]:
    """In the child process: migrate the (new, empty) database and seed it."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from marketplace.models import PayoutAudit, PayoutBatch, PayPeriod
    from marketplace.services.payouts import ledger_reconcile, payout_settings

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    settings = payout_settings()
    assert (settings.length, settings.cutoff_weekday, str(settings.cutoff_time)[:5]) == (
        "weekly",
        0,
        "00:00",
    ), "the seed assumes weekly periods ending on Monday 00:00 UTC"
    first, second = finance_users()
    times = anchor(setup.backlog)
    count = setup.contributors
    light, medium, regular = int(count * 0.2), int(count * 0.7), int(count * 0.95)
    steps: dict[str, float] = {}

    def step(name: str, since: float) -> float:
        now = time.monotonic()
        steps[name] = round(now - since, 1)
        return now

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
        cursor.execute("SET work_mem TO '256MB'")
        cursor.execute("SET maintenance_work_mem TO '1GB'")
        for table in ("contributors_user", "marketplace_project", *LOADED):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE id > 2")  # noqa: S608
            assert table == "contributors_user" or cursor.fetchone()[0] == 0, table
        cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM contributors_user")
        user_base = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM marketplace_project")
        project_base = cursor.fetchone()[0]
        params = {**times, "user_base": user_base, "project_base": project_base}
        last_paid = 0 if setup.backlog else WEEKS - 1  # the backlog was never paid
        params.update(backlog=setup.backlog, approver=first, minimum=MINIMUM, last_paid=last_paid)
        for table in STAGING:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")

        mark = time.monotonic()
        people = PEOPLE_SQL.format(
            light=light,
            medium=medium,
            regular=regular,
            count=count,
            projects=PROJECTS,
            j=u("g", 11),
            m=u("g", 12),
            p0=u("g", 13),
            speed=u("g", 14),
            sloppy=u("g", 15),
            surge=u("g", 16),
            declared=u("g", 17),
            hours=u("g", 18),
            email=u("g", 19),
            shared=u("g", 20),
            fate=u("g", 30),
        )
        run_sql(cursor, "people (staging)", people, params)
        cursor.execute("CREATE INDEX ON bench_people (i)")
        cursor.execute("CREATE INDEX ON bench_people (g)")
        run_sql(cursor, "projects (staging)", PROJECTS_SQL.format(projects=PROJECTS), params)
        run_sql(cursor, "users", USERS_SQL, params)
        run_sql(cursor, "profiles", PROFILES_SQL, params)
        run_sql(cursor, "contributor role", GROUPS_SQL, params)
        scores = SCORES_SQL.format(gold=u("g", 40), answered=u("g", 41), scored=u("g", 42))
        run_sql(cursor, "quality scores", scores, params)
        run_sql(cursor, "projects", PROJECT_ROWS_SQL, params)
        for table in ("contributors_user", "marketplace_project"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        mark = step("people and projects", mark)

        cursor.execute(BASE_TABLE_SQL)
        base = BASE_SQL.format(
            light=light,
            medium=medium,
            regular=regular,
            count=count,
            medium_n=medium - light,
            regular_n=regular - medium,
            heavy_n=count - regular,
            projects=PROJECTS,
            v=u("s", 1),
            pick=u("s", 3),
            kv=u("s", 4),
            q5=u("s", 5),
            q6=u("s", 6),
            q7=u("s", 7),
            q8=u("s", 8),
            q9=u("s", 9),
            q10=u("s", 10),
            q21=u("s", 21),
        )
        for low in range(1, setup.entries + 1, CHUNK_SLOTS):
            high = min(setup.entries, low + CHUNK_SLOTS - 1)
            run_sql(
                cursor,
                f"slots {low:,}-{high:,} (staging)",
                base,
                {**params, "low": low, "high": high},
            )
        run_sql(cursor, "ledger rows (staging)", ENTRY_SQL.format(q22=u("b.s", 22)), params)
        cursor.execute("CREATE INDEX ON bench_entry (id)")
        cursor.execute("CREATE INDEX ON bench_entry (s)")
        cursor.execute("ANALYZE bench_entry")
        run_sql(cursor, "weekly balances (staging)", WEEKLY_SQL, params)
        cursor.execute("CREATE INDEX ON bench_weekly (contributor_id, currency, week)")
        cursor.execute("ANALYZE bench_weekly")
        run_sql(cursor, "weeks paid or carried (staging)", WALK_SQL, params)
        run_sql(cursor, "payouts of periods 1-18 (staging)", GROUP_SQL, params)
        run_sql(cursor, "entries to payouts (staging)", LINK_SQL, params)
        cursor.execute("CREATE INDEX ON bench_link (contributor_id, currency, week)")
        cursor.execute("ANALYZE bench_link")
        mark = step("staging", mark)

    # Periods (and, before the measured one, their built and paid batches) through the ORM.
    first_week = WEEKS if setup.backlog else 1
    last_week = WEEKS if setup.backlog else WEEKS + 1
    periods = {}
    for week in range(first_week, last_week + 1):
        periods[week] = PayPeriod.objects.create(
            starts_at=times["start"] + timedelta(weeks=week - 1),
            ends_at=times["start"] + timedelta(weeks=week),
            time_zone="UTC",
            created_at=times["start"] + timedelta(weeks=week - 1),
        )
    batches = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT week, currency, count(*), sum(balance) FROM bench_walk "
            "WHERE NOT paid AND balance <> 0 GROUP BY 1, 2"
        )
        carried: dict[int, dict[str, Any]] = {}
        for week, currency, groups, amount in cursor.fetchall():
            found = carried.setdefault(week, {"count": 0, "amounts": {}})
            found["count"] += groups
            found["amounts"][currency] = str(amount)
    for week in range(1, WEEKS) if not setup.backlog else ():
        cutoff = periods[week].ends_at
        batches[week] = PayoutBatch.objects.create(
            period=periods[week],
            state=PayoutBatch.State.READY,
            cursor=user_base + count - 1,
            cutoff=cutoff,
            minimum_amount=MINIMUM,
            four_eyes_amount=FOUR_EYES,
            started_at=cutoff + timedelta(minutes=5),
            built_at=cutoff + timedelta(minutes=10),
            build_seconds=300.0,
            carried_count=carried.get(week, {}).get("count", 0),
            carried=carried.get(week, {}).get("amounts", {}),
        )
        PayoutAudit.objects.create(
            action="batch_built",
            batch=batches[week],
            at=cutoff + timedelta(minutes=10),
            data={"seeded": True},
        )

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
        cursor.execute("SET work_mem TO '256MB'")
        cursor.execute("SET maintenance_work_mem TO '1GB'")
        dropped = keys_drop(cursor)
        mark = time.monotonic()
        for low in range(1, setup.entries + 1, CHUNK_SLOTS):
            high = min(setup.entries, low + CHUNK_SLOTS - 1)
            with connection.cursor() as chunk, transaction_atomic():
                run_sql(
                    chunk,
                    f"ledger {low:,}-{high:,}",
                    LEDGER_SQL,
                    {**params, "low": low, "high": high},
                )
        mark = step("ledger", mark)
        for week, batch in batches.items():
            with transaction_atomic():
                run_sql(
                    cursor,
                    f"payouts of period {week}",
                    PAYOUTS_SQL,
                    {
                        "week": week,
                        "batch": batch.pk,
                        "cutoff": batch.cutoff,
                        "four_eyes": FOUR_EYES,
                        "first": first,
                        "second": second,
                    },
                )
        for low in range(1, setup.entries + 1, CHUNK_SLOTS) if batches else ():
            high = min(setup.entries, low + CHUNK_SLOTS - 1)
            with transaction_atomic():
                run_sql(
                    cursor,
                    f"payout items of entries {low:,}-{high:,}",
                    ITEMS_SQL,
                    {**params, "low": low, "high": high},
                )
        for table in ("marketplace_earningentry", "marketplace_payout"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        mark = step("payouts", mark)
        keys_restore(cursor, dropped)
        mark = step("indexes and keys", mark)
        for table in STAGING:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    mark = step("vacuum", mark)
    breaks = ledger_reconcile()
    assert not breaks, [(found.rule, found.rows[:3]) for found in breaks]
    mark = step("reconciliation", mark)
    found = seed_counts(times)
    record = {
        "setup": setup.name,
        "contributors": count,
        "entries": setup.entries,
        "projects": PROJECTS,
        "seconds": round(time.monotonic() - started),
        "steps": steps,
        "seeded_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "periods": {key: value.isoformat() for key, value in times.items()},
        "measured_period": periods[WEEKS].pk,
        "reconciliation_breaks": len(breaks),
        **found,
    }
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_seed (data jsonb NOT NULL)")
        cursor.execute("INSERT INTO bench_seed (data) VALUES (%s)", [json.dumps(record)])
    return record


def transaction_atomic() -> Any:
    from django.db import transaction

    return transaction.atomic()


def seed_counts(times: dict[str, datetime]) -> dict[str, Any]:
    """What the seed holds, and what the measured period's build will find."""
    from django.db import connection

    found: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT state, count(*) FROM marketplace_earningentry GROUP BY 1 ORDER BY 1")
        found["entries_by_state"] = dict(cursor.fetchall())
        cursor.execute("SELECT kind, count(*) FROM marketplace_earningentry GROUP BY 1 ORDER BY 1")
        found["entries_by_kind"] = dict(cursor.fetchall())
        cursor.execute("SELECT state, count(*) FROM marketplace_payout GROUP BY 1 ORDER BY 1")
        found["payouts_by_state"] = dict(cursor.fetchall())
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE released_at IS NOT NULL) "
            "FROM marketplace_payoutitem"
        )
        found["payout_items"], found["payout_items_released"] = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*), count(DISTINCT (contributor_id, currency)),
                count(*) FILTER (WHERE amount < 0)
            FROM marketplace_earningentry e
            WHERE state = 'approved' AND approved_at < %(cut)s AND NOT EXISTS (
                SELECT 1 FROM marketplace_payoutitem i
                WHERE i.entry_id = e.id AND i.released_at IS NULL)
            """,
            {"cut": times["cut19"]},
        )
        entries, balances, negative = cursor.fetchone()
        found["batch_entries"] = entries
        found["batch_balances"] = balances
        found["batch_negative_entries"] = negative
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE total <= 0), count(*) FILTER (WHERE total < %(min)s)
            FROM (SELECT sum(amount) AS total FROM marketplace_earningentry e
                WHERE state = 'approved' AND approved_at < %(cut)s AND NOT EXISTS (
                    SELECT 1 FROM marketplace_payoutitem i
                    WHERE i.entry_id = e.id AND i.released_at IS NULL)
                GROUP BY contributor_id, currency) AS balances
            """,
            {"cut": times["cut19"], "min": MINIMUM},
        )
        found["batch_balances_not_positive"], found["batch_balances_under_minimum"] = (
            cursor.fetchone()
        )
        cursor.execute("SELECT pg_database_size(current_database())")
        found["database_gib"] = round(cursor.fetchone()[0] / 2**30, 1)
    return found


def rss_kib(field: str = "VmRSS", pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak() -> None:
    """Start VmHWM (the peak resident set) afresh, so it tells the build's own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass  # then VmHWM may keep an earlier peak; the sampled peak still tells the build's


class Sampler(threading.Thread):
    """The largest resident set seen while it runs, read every SAMPLE_SECONDS."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_kib()
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, rss_kib())
            self.samples += 1

    def stop(self) -> int:
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss_kib())
        return self.peak


SERVICE = str(ROOT / "marketplace" / "services" / "payouts")


class Steps:
    """Charges each SQL statement's time to the line of the payout services that ran it, and
    counts chunks; in the chunks asked for, runs EXPLAIN (ANALYZE, BUFFERS) of each statement
    first, in a savepoint that is rolled back, so the build goes on unchanged."""

    def __init__(self, explain: set[int]) -> None:
        self.explain = explain
        self.by_line: dict[str, dict[str, Any]] = {}
        self.chunk = 0
        self.chunk_started: float | None = None
        self.chunks: list[float] = []
        self.queries = 0
        self.seconds = 0.0
        self.commits = 0
        self.commit_seconds = 0.0
        self.plans: list[dict[str, Any]] = []

    def where(self) -> str:
        for frame in reversed(traceback.extract_stack(limit=40)):
            if frame.filename.startswith(SERVICE):
                return f"{Path(frame.filename).stem}.py:{frame.lineno} {frame.name}"
        return "other"

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        line = self.where()
        if line.endswith(" _build_chunk") and "FOR UPDATE" in sql and "contributors_user" in sql:
            now = time.perf_counter()
            if self.chunk_started is not None:
                self.chunks.append(now - self.chunk_started)
            self.chunk += 1
            self.chunk_started = now
        if (
            self.chunk in self.explain
            and not many
            and line != "other"
            and "chunk_high" not in line
            and sql.lstrip().split(None, 1)[0].upper() in EXPLAINABLE
        ):
            self.plan(line, sql, params, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - started
            self.queries += 1
            self.seconds += took
            found = self.by_line.setdefault(
                line, {"queries": 0, "seconds": 0.0, "sql": " ".join(sql.split())[:160]}
            )
            found["queries"] += 1
            found["seconds"] += took

    def plan(self, line: str, sql: str, params: Any, context: Any) -> None:
        cursor = context["cursor"].cursor  # the driver's cursor: no wrappers, no recursion
        cursor.execute("SAVEPOINT bench_explain")
        try:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            text = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("ROLLBACK TO SAVEPOINT bench_explain")
        self.plans.append({"chunk": self.chunk, "line": line, "sql": sql, "plan": text})

    def finish(self) -> None:
        if self.chunk_started is not None:
            self.chunks.append(time.perf_counter() - self.chunk_started)


def build_child(setup: Setup, explain: set[int]) -> dict[str, Any]:
    """In the child process: build the measured period's batch, measured."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count, Sum

    from marketplace.models import Payout, PayoutBatch, PayoutFlag, PayoutItem, PayPeriod
    from marketplace.services.payouts import batch_build

    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM bench_seed")
        seeded = cursor.fetchone()[0]
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    if isinstance(seeded, str):
        seeded = json.loads(seeded)
    period = PayPeriod.objects.get(pk=seeded["measured_period"])
    assert not PayoutBatch.objects.filter(period=period).exists(), "clean up first"
    steps = Steps(explain)
    commit = connection._commit  # each chunk's COMMIT does not go through execute wrappers

    def timed_commit() -> Any:
        started = time.perf_counter()
        try:
            return commit()
        finally:
            steps.commits += 1
            steps.commit_seconds += time.perf_counter() - started

    connection._commit = timed_commit
    gc.collect()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    reset_peak()
    before = rss_kib()
    backend_before = rss_kib("VmRSS", backend)
    sampler = Sampler()
    sampler.start()
    started = time.perf_counter()
    with connection.execute_wrapper(steps):
        batch = batch_build(period_id=period.pk)
    seconds = time.perf_counter() - started
    steps.finish()
    sampled = sampler.stop()
    peak = max(sampled, rss_kib("VmHWM"))
    after = resource.getrusage(resource.RUSAGE_SELF)
    backend_peak = rss_kib("VmHWM", backend)
    assert batch.state == PayoutBatch.State.READY, batch.state
    payouts = Payout.objects.filter(batch=batch)
    totals = payouts.aggregate(
        payouts=Count("id"), amount=Sum("amount"), entries=Sum("entries_count")
    )
    links = PayoutItem.objects.filter(payout__batch=batch, released_at__isnull=True).count()
    assert links == totals["entries"], (links, totals)
    flags = dict(
        PayoutFlag.objects.filter(payout__batch=batch)
        .values_list("code")
        .annotate(count=Count("id"))
        .order_by("code")
    )
    lines = sorted(steps.by_line.items(), key=lambda item: -item[1]["seconds"])
    chunks = steps.chunks
    return {
        "seconds": round(seconds, 2),
        "build_seconds": batch.build_seconds,
        "payouts": totals["payouts"],
        "links": links,
        "amount": str(totals["amount"]),
        "carried": batch.carried_count,
        "flagged_payouts": payouts.filter(flagged=True).count(),
        "flags": flags,
        "chunk_size": settings.PAYOUT_BUILD_CHUNK,
        "chunks": len(chunks),
        "chunk_s": {
            "first": round(chunks[0], 2) if chunks else None,
            "median": round(statistics.median(chunks), 2) if chunks else None,
            "max": round(max(chunks), 2) if chunks else None,
            "last": round(chunks[-1], 2) if chunks else None,
        },
        "chunk_times": [round(took, 2) for took in chunks],
        "queries": steps.queries,
        "sql_s": round(steps.seconds, 2),
        "commits": steps.commits,
        "commit_s": round(steps.commit_seconds, 2),
        "python_s": round(seconds - steps.seconds - steps.commit_seconds, 2),
        "steps": [
            {
                "line": line,
                "queries": found["queries"],
                "seconds": round(found["seconds"], 2),
                "share": round(found["seconds"] / seconds, 3),
                "sql": found["sql"],
            }
            for line, found in lines
        ],
        "cpu_s": round(
            after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
            1,
        ),
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_growth_mib": round((peak - before) / 1024, 1),
        "rss_sampled_peak_mib": round(sampled / 1024, 1),
        "rss_samples": sampler.samples,
        "backend_rss_before_mib": round(backend_before / 1024, 1),
        "backend_peak_mib": round(backend_peak / 1024, 1),
        "plans": steps.plans,
    }


def cleanup(setup: Setup) -> dict[str, int]:
    """Remove the measured period's batch and all it made; then vacuum what the build wrote.
    The guard triggers of payout items and the audit log refuse deletes: they are disabled
    for this delete only, inside its transaction (so a failure leaves them enabled)."""
    import psycopg

    with psycopg.connect(psycopg_url(setup.url)) as connection:
        seeded = connection.execute("SELECT data FROM bench_seed").fetchone()[0]
        period = seeded["measured_period"]
        with connection.transaction():
            batch = connection.execute(
                "SELECT id FROM marketplace_payoutbatch WHERE period_id = %s", (period,)
            ).fetchone()
            removed = {}
            if batch:
                connection.execute(
                    "ALTER TABLE marketplace_payoutitem "
                    "DISABLE TRIGGER marketplace_payout_item_guard"
                )
                connection.execute(
                    "ALTER TABLE marketplace_payoutaudit "
                    "DISABLE TRIGGER marketplace_payout_audit_guard"
                )
                mine = "SELECT id FROM marketplace_payout WHERE batch_id = %(batch)s"
                for table, where in (
                    ("marketplace_payoutflag", f"payout_id IN ({mine})"),
                    ("marketplace_payoutitem", f"payout_id IN ({mine})"),
                    ("marketplace_payoutaudit", f"batch_id = %(batch)s OR payout_id IN ({mine})"),
                    ("marketplace_payout", "batch_id = %(batch)s"),
                    ("marketplace_payoutbatch", "id = %(batch)s"),
                ):
                    removed[table] = connection.execute(
                        f"DELETE FROM {table} WHERE {where}",  # noqa: S608
                        {"batch": batch[0]},
                    ).rowcount
                connection.execute(
                    "ALTER TABLE marketplace_payoutitem "
                    "ENABLE TRIGGER marketplace_payout_item_guard"
                )
                connection.execute(
                    "ALTER TABLE marketplace_payoutaudit "
                    "ENABLE TRIGGER marketplace_payout_audit_guard"
                )
        enabled = connection.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname IN "
            "('marketplace_payout_item_guard', 'marketplace_payout_audit_guard') "
            "AND tgenabled = 'O'"
        ).fetchone()[0]
        assert enabled == 2, "the guard triggers must be enabled again"
    with psycopg.connect(psycopg_url(setup.url), autocommit=True) as connection:
        connection.execute(
            "VACUUM (ANALYZE) marketplace_payoutitem, marketplace_payout, marketplace_payoutflag,"
            " marketplace_payoutaudit, marketplace_payoutbatch, contributors_user"
        )
    return removed


def warm(setup: Setup) -> float:
    """Read the tables the build reads, and their indexes, into the operating system's cache."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(psycopg_url(setup.url), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = connection.execute(
            """
            SELECT c.oid::regclass::text FROM pg_class c
            WHERE c.oid = ANY(%(tables)s::regclass[])
            UNION ALL
            SELECT i.indexrelid::regclass::text FROM pg_index i
            WHERE i.indrelid = ANY(%(tables)s::regclass[])
            """,
            {"tables": list(WARM)},
        ).fetchall()
        for (relation,) in relations:
            connection.execute("SELECT pg_prewarm(%s::regclass, 'read')", (relation,))
    return time.monotonic() - started


def others_running() -> dict[int, str]:
    """Other benchmarks or test runs on this machine: their command lines, by pid."""
    found = {}
    for pattern in OTHERS:
        listed = subprocess.run(  # noqa: S603 - pgrep with our own fixed patterns
            ["pgrep", "-af", pattern],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        for line in listed.stdout.splitlines():
            pid, _, command = line.partition(" ")
            if MINE not in command and "pgrep" not in command:
                found[int(pid)] = command
    return found


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (None once it has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Others:
    """Watches the other benchmarks and test runs. A test run always counts as at work; a
    benchmark only while it uses the CPU: one that has used none for IDLE_SECONDS is waiting
    itself (maybe for this one), and waiting for it too would never end."""

    def __init__(self) -> None:
        self.cpu: dict[int, float] = {}
        self.since: dict[int, float] = {}

    def working(self) -> dict[int, str]:
        now = time.monotonic()
        busy = {}
        for pid, command in others_running().items():
            used = cpu_seconds(pid)
            if used is None:
                continue
            if "pytest" in command or used - self.cpu.get(pid, -1.0) > IDLE_CPU:
                self.cpu[pid], self.since[pid] = used, now
            if "pytest" in command or now - self.since[pid] < IDLE_SECONDS:
                busy[pid] = command
        return busy


def wait_for_quiet(others: Others) -> float:
    """Wait until no other benchmark is at work and no pytest runs; the seconds waited."""
    started = time.monotonic()
    told = 0.0
    while found := others.working():
        waited = time.monotonic() - started
        if not told or waited - told >= 300:
            told = waited or 1e-9
            print(
                f"bench: waiting for {len(found)} other process(es) to end before measuring: "
                + "; ".join(f"{pid} {command[:100]}" for pid, command in list(found.items())[:3]),
                flush=True,
            )
        time.sleep(5)
    return time.monotonic() - started


def cpu_times() -> tuple[int, int]:
    """The machine's busy and total CPU time so far, in clock ticks of all cores."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def cpu_busy(seconds: float = 2.0) -> float:
    """The share of the machine's CPU time that was busy over `seconds` (others' work too)."""
    busy_before, total_before = cpu_times()
    time.sleep(seconds)
    busy_after, total_after = cpu_times()
    return (busy_after - busy_before) / max(1, total_after - total_before)


class ProcessCpu:
    """The CPU time of every process seen between its first and its last look, by whose it is:
    this benchmark's (its processes, and the PostgreSQL backends and parallel workers serving its
    database), everyone else's (other programs and their backends), or PostgreSQL's own
    (checkpointer, autovacuum…). A process that lives only between two looks, such as a short
    parallel worker, is missed."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.kind: dict[int, str] = {}

    def whose(self, pid: int, comm: str) -> str:
        try:
            command = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return "other"
        text = command.decode(errors="replace")
        if MINE in text:
            return "mine"
        if comm != "postgres" and not text.startswith("postgres:"):
            return "other"
        if f" {self.database} " in text:
            return "mine"
        leader = re.search(r"parallel worker for PID (\d+)", text)
        if leader:
            return self.kind.get(int(leader.group(1)), "other")
        if re.search(r"\(\d+\)|\[local\]", text):
            return "other"  # a client's backend, of another database
        return "postgres"

    def look(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            if pid not in self.kind:
                self.kind[pid] = self.whose(pid, comm)
            self.first.setdefault(pid, used)
            self.last[pid] = used

    def seconds(self, kind: str) -> float:
        return sum(
            self.last[pid] - self.first[pid] for pid in self.last if self.kind.get(pid) == kind
        )


def code_fingerprint() -> str:
    """Names, sizes and times of the service's Python files: tells whether the code changed."""
    import hashlib

    digest = hashlib.sha256()
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(ROOT)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def child(arguments: list[str], url: str, *, capture: bool) -> dict[str, Any]:
    """Run this script in a fresh process against `url`; its result, read from a file."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", prefix="bench-payouts-") as out:
        environment = {**os.environ, "DATABASE_URL": url, "DATABASE_CONN_MAX_AGE": "600"}
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.run(  # noqa: S603 - this script, with our own arguments
                [sys.executable, __file__, *arguments, "--out", out.name],
                cwd=ROOT,
                env=environment,
                stdout=log if capture else None,
                stderr=subprocess.STDOUT if capture else None,
                check=False,
            )
            if process.returncode:
                log.seek(0)
                print(log.read()[-5000:], file=sys.stderr)
                raise SystemExit(f"bench: {' '.join(arguments)} failed ({process.returncode})")
        return json.loads(Path(out.name).read_text())


def seed(setup: Setup, *, reseed: bool) -> dict[str, Any]:
    """The setup's database, seeded once; what was there is reused."""
    record = None if reseed else seed_record(setup)
    if record is not None:
        print(f"bench: {setup.name}: seed of {record['seeded_at']} reused", flush=True)
        return {**record, "reused": True}
    print(f"bench: {setup.name}: seeding {setup.url.rsplit('/', 1)[1]}", flush=True)
    recreate_database(setup)
    record = child(["--seed", setup.name], setup.url, capture=False)
    print(f"bench: {setup.name}: seeded in {record['seconds']:,} s", flush=True)
    return {**record, "reused": False}


def build_once(
    setup: Setup, others: Others, *, explain: set[int] | None = None, wait: bool = True
) -> dict[str, Any]:
    """One build in a fresh process, on a clean batch and a warm cache, once nothing else
    runs (unless `wait` is False); who else worked meanwhile is noted."""
    removed = cleanup(setup)
    warmed = warm(setup)
    waited = wait_for_quiet(others) if wait else 0.0
    deadline = time.monotonic() + (QUIET_WAIT if wait else 0.0)
    while (busy := cpu_busy(2.0)) > BUSY_WARNING and time.monotonic() < deadline:
        pass  # someone else's work, not a benchmark's: give it a minute to end
    if busy > BUSY_WARNING:
        print(f"bench: warning: the machine was {busy:.0%} busy before this build", flush=True)
    code = code_fingerprint()
    cores = os.cpu_count() or 1
    seen: set[str] = set()
    started = time.monotonic()
    busy_start, total_start = cpu_times()
    processes = ProcessCpu(setup.url.rsplit("/", 1)[1])
    processes.look()
    arguments = ["--build", setup.name]
    if explain:
        arguments += ["--explain", ",".join(map(str, sorted(explain)))]
    result: dict[str, Any] = {}

    def run() -> None:
        result.update(child(arguments, setup.url, capture=True))

    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive():
        seen.update(f"{pid} {command[:100]}" for pid, command in others.working().items())
        processes.look()
        worker.join(WATCH_SECONDS)
    if not result:
        raise SystemExit(f"bench: the {setup.name} build failed")
    processes.look()
    busy_end, total_end = cpu_times()
    elapsed = time.monotonic() - started
    run_record = {
        "setup": setup.name,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **result,
        "removed_before": removed,
        "warm_s": round(warmed),
        "waited_s": round(waited),
        "cpu_busy_before": round(busy, 2),
        "cpu_busy_during": round((busy_end - busy_start) / max(1, total_end - total_start), 2),
        "own_cpu_s": round(processes.seconds("mine"), 1),
        "postgres_cpu_s": round(processes.seconds("postgres"), 1),
        "others_cpu_s": round(processes.seconds("other"), 1),
        "others_cpu_share": round(processes.seconds("other") / (elapsed * cores), 2),
        "others_during": sorted(seen),
        "code": code,
        "code_changed_during": code_fingerprint() != code,
    }
    run_record["disturbed"] = (
        bool(seen)
        or run_record["others_cpu_share"] > BUSY_WARNING
        or run_record["code_changed_during"]
    )
    print(
        f"bench: {setup.name}: {result['seconds']} s, {result['payouts']:,} payouts, "
        f"{result['links']:,} links, {sum(result['flags'].values()):,} flags, RSS "
        f"{result['rss_before_mib']} → {result['rss_peak_mib']} MiB, backend peak "
        f"{result['backend_peak_mib']} MiB, {result['chunks']} chunks; CPU busy before "
        f"{busy:.0%}, others' CPU {run_record['others_cpu_share']:.0%}"
        + (f"; others ran meanwhile: {'; '.join(sorted(seen))}" if seen else ""),
        flush=True,
    )
    return run_record


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 2)


def summary(runs: list[dict[str, Any]], setups: list[str]) -> dict[str, dict[str, Any]]:
    found = {}
    for name in setups:
        mine = [run for run in runs if run["setup"] == name]
        if mine:
            found[name] = {
                "rounds": len(mine),
                "seconds": median_of(mine, "seconds"),
                "rss_peak_mib": median_of(mine, "rss_peak_mib"),
                "rss_before_mib": median_of(mine, "rss_before_mib"),
                "backend_peak_mib": median_of(mine, "backend_peak_mib"),
                "sql_s": median_of(mine, "sql_s"),
                "python_s": median_of(mine, "python_s"),
            }
    return found


def goals(medians: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for name in ("full", "backlog"):
        if name in medians:
            seconds = medians[name]["seconds"]
            what = "the weekly batch" if name == "full" else "the worst case, every entry linked"
            found.append(
                {
                    "goal": f"{what} ({SETUPS[name].contributors:,} contributors, "
                    f"{SETUPS[name].entries:,} entries) built in under {GOAL_SECONDS:.0f} s",
                    "measured": f"{seconds} s (median of {medians[name]['rounds']})",
                    "met": seconds < GOAL_SECONDS,
                }
            )
    for name in ("full", "backlog"):
        if name in medians and "tenth" in medians:
            ratio = medians[name]["rss_peak_mib"] / medians["tenth"]["rss_peak_mib"]
            found.append(
                {
                    "goal": f"flat memory: the building process's peak at {name} "
                    f"({SETUPS[name].entries:,} entries) at most {(FLAT - 1) * 100:.0f}% above "
                    f"the peak at tenth ({SETUPS['tenth'].entries:,})",
                    "measured": f"{medians[name]['rss_peak_mib']} / "
                    f"{medians['tenth']['rss_peak_mib']} MiB = {ratio:.2f}",
                    "met": ratio <= FLAT,
                }
            )
    return found


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return (
        f"{platform.machine()}, {cores} cores{memory}, Python {platform.python_version()}, "
        f"{platform.system()}"
    )


def postgres_facts(setup: Setup) -> dict[str, str]:
    import psycopg

    with psycopg.connect(psycopg_url(setup.url), autocommit=True) as connection:
        return {
            name: connection.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "shared_buffers", "work_mem", "effective_cache_size")
        }


def flag_text(flags: dict[str, int]) -> str:
    return ", ".join(f"{code} {count:,}" for code, count in sorted(flags.items())) or "none"


def write(record: dict[str, Any]) -> None:
    path = ROOT / "bench" / "results" / "payouts.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    mark = {True: "met", False: "**not met**", None: "not run"}
    facts = record["postgres"]
    seeds = "; ".join(
        f"{name}: {found['contributors']:,} contributors, {found['entries']:,} entries, "
        f"{found['database_gib']} GiB, seed {'reused' if found['reused'] else 'made'} "
        f"({found['seconds']:,} s to make)"
        for name, found in record["seeding"].items()
    )
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL "
        f"{facts['server_version']} (shared_buffers {facts['shared_buffers']}, work_mem "
        f"{facts['work_mem']}, as installed); {seeds}. {record['rounds']} rounds, the setups "
        f"in turn within each; medians. Each build runs `batch_build` for the last closed "
        f"period in a fresh process (actor None, as the beat job), after its batch from the "
        f"round before was removed and the tables vacuumed, with the ledger, payout, user and "
        f"profile tables and their indexes read into the cache. Linked: the entries the batch "
        f"links (its payouts' entries_count). RSS: the building process's resident set before "
        f"the build and its peak during it (VmHWM reset just before; a sampler reading every "
        f"20 ms agrees); backend: the peak of its PostgreSQL backend process (shared buffers "
        f"it touched included). SQL s: statements' time inside the driver; commit s: the "
        f"chunks' COMMITs (WAL flushes); Python s: the rest. CPU busy: the whole machine in the "
        f"2 s before (others' work, should be near 0) and during the build (2 cores: 50% is one "
        f"core). Own CPU s: this benchmark's processes and the PostgreSQL backends and parallel "
        f"workers of its database (a worker that lives between two looks, 2 s apart, is "
        f"missed); others' CPU: the CPU time of every other process (programs and their "
        f"backends) as a share of the machine during the build.",
        "",
        "| setup | contributors | entries | linked | payouts | carried | flagged | round | "
        "at | build s | chunks (first / median / max s) | SQL s / commit s / Python s | "
        "RSS before MiB | RSS peak MiB | backend peak MiB | CPU busy before / during | "
        "own CPU s | others' CPU |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- | --- | --- | --- |",
    ]
    rounds: dict[str, int] = {}
    for run in record["runs"]:
        setup = SETUPS[run["setup"]]
        rounds[run["setup"]] = rounds.get(run["setup"], 0) + 1
        chunks = run["chunk_s"]
        lines.append(
            f"| {setup.name} | {setup.contributors:,} | {setup.entries:,} | {run['links']:,} "
            f"| {run['payouts']:,} | {run['carried']:,} | {run['flagged_payouts']:,} "
            f"| {rounds[run['setup']]}{' (disturbed)' if run['disturbed'] else ''} "
            f"| {run.get('measured_at', record['date'])[11:16]} "
            f"| {run['seconds']} | {run['chunks']} of {run['chunk_size']:,} "
            f"({chunks['first']} / {chunks['median']} / {chunks['max']}) "
            f"| {run['sql_s']} / {run.get('commit_s', '–')} / {run['python_s']} "
            f"| {run['rss_before_mib']} | {run['rss_peak_mib']} | {run['backend_peak_mib']} "
            f"| {run['cpu_busy_before']:.0%} / {run['cpu_busy_during']:.0%} "
            f"| {run.get('own_cpu_s', '–')} | {run['others_cpu_share']:.0%} |"
        )
    lines += ["", "| setup | median build s | median RSS peak MiB | flags (last round) |"]
    lines += ["| --- | --- | --- | --- |"]
    for name, found in record["medians"].items():
        last = [run for run in record["runs"] if run["setup"] == name][-1]
        lines.append(
            f"| {name} | {found['seconds']} | {found['rss_peak_mib']} "
            f"| {flag_text(last['flags'])} |"
        )
    lines += ["", "| goal | measured | |", "| --- | --- | --- |"]
    lines += [f"| {g['goal']} | {g['measured']} | {mark[g['met']]} |" for g in record["goals"]]
    for name in ("full", "backlog"):
        mine = [run for run in record["runs"] if run["setup"] == name]
        if not mine:
            continue
        run = sorted(mine, key=lambda found: found["seconds"])[(len(mine) - 1) // 2]
        lines += [
            "",
            f"Where the time goes, {name} (the round at the median, or the faster of the "
            f"two middle ones: {run['seconds']} s, "
            f"{run['queries']:,} statements): the SQL time of each line of the payout services, "
            f"summed over the chunks.",
            "",
            "| line | statements | s | share | statement |",
            "| --- | --- | --- | --- | --- |",
        ]
        for step in run["steps"][:12]:
            sql = step["sql"].replace("|", "\\|")[:110]
            lines.append(
                f"| {step['line']} | {step['queries']:,} | {step['seconds']} "
                f"| {step['share']:.0%} | `{sql}…` |"
            )
        if "commit_s" in run:
            lines.append(
                f"| COMMIT of each chunk | {run['commits']} | {run['commit_s']} "
                f"| {run['commit_s'] / run['seconds']:.0%} | |"
            )
        lines.append(
            f"| Python (ORM objects, parameters, flags) | | {run['python_s']} "
            f"| {run['python_s'] / run['seconds']:.0%} | |"
        )
    if record.get("profile"):
        profile = record["profile"]
        lines += [
            "",
            f"Profile: EXPLAIN (ANALYZE, BUFFERS) of every statement of chunks "
            f"{', '.join(map(str, profile['chunks']))} of a {profile['setup']} build (in "
            f"bench/results/payouts.json, `profile.plans`); the slowest:",
            "",
            "| chunk | line | execution ms | plan's top node |",
            "| --- | --- | --- | --- |",
        ]
        for plan in profile["slowest"]:
            lines.append(f"| {plan['chunk']} | {plan['line']} | {plan['ms']} | `{plan['top']}` |")
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- payouts:start -->", "<!-- payouts:end -->"
    if start in text:
        before, _, rest = text.partition(start)
        _, _, after = rest.partition(end)
        readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


def plan_summary(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for plan in plans:
        took = re.search(r"Execution Time: ([\d.]+) ms", plan["plan"])
        top = plan["plan"].splitlines()[0].strip() if plan["plan"] else ""
        found.append(
            {
                "chunk": plan["chunk"],
                "line": plan["line"],
                "ms": float(took.group(1)) if took else 0.0,
                "top": re.sub(r"\s+", " ", top)[:120],
            }
        )
    return sorted(found, key=lambda item: -item["ms"])[:12]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--setups",
        type=lambda text: text.split(","),
        default=["tenth", "full", "backlog"],
        help="which setups, in this order within a round: tenth,full,backlog",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="builds of each setup")
    parser.add_argument(
        "--backlog-rounds", type=int, help="builds of the backlog setup (default: --rounds)"
    )
    parser.add_argument("--reseed", action="store_true", help="drop the databases, seed anew")
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="measure at once, without waiting for other benchmarks and tests to end (each run "
        "then says how much of the machine others took; its times are upper bounds)",
    )
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="EXPLAIN ANALYZE two chunks of a full build (auto: when it misses the goal)",
    )
    parser.add_argument(
        "--keep",
        type=lambda text: text.split(","),
        default=[],
        help="setups whose runs are kept from bench/results/payouts.json instead of measured",
    )
    parser.add_argument(
        "--write-only",
        action="store_true",
        help="write the README table again from bench/results/payouts.json, measuring nothing",
    )
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--explain", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    options = parser.parse_args()
    unknown = set(options.setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups {sorted(unknown)}; choose from {sorted(SETUPS)}")
    return options


def main() -> None:
    options = arguments()
    if options.seed or options.build:
        if "DATABASE_URL" not in os.environ:
            raise SystemExit("bench: a child needs DATABASE_URL")
        if options.seed:
            result = seed_child(SETUPS[options.seed])
        else:
            explain = {int(part) for part in options.explain.split(",") if part}
            result = build_child(SETUPS[options.build], explain)
        Path(options.out).write_text(json.dumps(result, default=str))
        return

    if options.write_only:
        write(json.loads((ROOT / "bench" / "results" / "payouts.json").read_text()))
        return
    started = time.monotonic()
    previous: dict[str, Any] = {}
    if options.keep:
        previous = json.loads((ROOT / "bench" / "results" / "payouts.json").read_text())
    setups = [SETUPS[name] for name in options.setups if name not in options.keep]
    seeding = {setup.name: seed(setup, reseed=options.reseed) for setup in setups}
    measuring = time.monotonic()
    others = Others()
    runs = [run for run in previous.get("runs", []) if run["setup"] in options.keep]
    for name in options.keep:
        seeding[name] = previous["seeding"][name]
    backlog_rounds = options.rounds if options.backlog_rounds is None else options.backlog_rounds
    for number in range(1, options.rounds + 1):
        for setup in setups:
            if setup.backlog and number > backlog_rounds:
                continue
            print(f"bench: round {number}, {setup.name}", flush=True)
            run = build_once(setup, others, wait=not options.no_wait)
            run["round"] = number
            runs.append(run)
    runs.sort(key=lambda run: (run["round"], options.setups.index(run["setup"])))
    medians = summary(runs, options.setups)
    profile = None
    full = medians.get("full")
    wanted = options.profile == "always" or (
        options.profile == "auto" and full is not None and full["seconds"] >= GOAL_SECONDS
    )
    if wanted and "full" in options.setups:
        chunks = {1, max(1, SETUPS["full"].contributors // 2000 // 2)}
        print(f"bench: profiling chunks {sorted(chunks)} of a full build", flush=True)
        run = build_once(SETUPS["full"], others, explain=chunks, wait=not options.no_wait)
        profile = {
            "setup": "full",
            "chunks": sorted(chunks),
            "seconds_with_explain": run["seconds"],
            "steps": run["steps"],
            "slowest": plan_summary(run["plans"]),
            "plans": run["plans"],
        }
    for run in runs:
        run.pop("plans", None)
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": postgres_facts(setups[0] if setups else SETUPS[options.setups[0]]),
        "kept": {name: previous.get("date") for name in options.keep},
        "seeding": seeding,
        "rounds": options.rounds,
        "measure_s": round(time.monotonic() - measuring),
        "runs": runs,
        "medians": medians,
        "goals": goals(medians),
        "profile": profile,
    }
    write(record)
    print(f"bench: done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
