"""Stateful model test: a Hypothesis rule-based state machine drives the services of a small
world, and after every step checks, in SQL and through the ORM, the rules the design promises.

The world: a project manager (staff), two finance admins, three active contributors on a
per-task project (overlap 2, a few tasks, peer review of each person's first two submissions,
expert review for escalations and appeals) and on an hourly project, a peer reviewer, an expert
reviewer and two graders. Each contributor starts with an approved bonus in last week's batch,
built and waiting for review, so that money reaches the payout steps from the first step on.

The rules, each a call of the services as the app makes it: apply (a new person, signed up with
the application filled in by the factory, submits it and takes the Starter Assessment end to
end: start, answer it or not, submit, scoring, two graders, the decision; passing, they join the
projects and work; one applicant per example, the slowest step); claim, submit, skip or release
a task; expire leases; peer and expert review (accept, reject, revise, escalate, hand back);
resubmit a revision; appeal a rejection; start, heartbeat and stop sessions and close idle ones;
move the clock; approve earnings; reverse an entry; build the batch of a period that just
closed; approve payouts (one by one, the unflagged in bulk, or a whole batch on pay day), hold
or reject them, send them and mark them paid. Jobs that the app runs on commit run when each
step ends, as they would after its commit, and each is looked at on its own.

After every step:

- the ledger reconciles (`ledger_reconcile()` finds nothing): every paid entry is in exactly one
  paid payout, every payout is the sum of its entries;
- per contributor, what the paid payouts sent equals the paid entries, and what was sent plus
  the claw-backs still owed never exceeds the approved work that stands (not reversed); no
  lifetime balance is negative and no payout is zero or below;
- every entry traces to its work: a task entry to the person's submission, priced at the task
  price; a time entry to the person's closed session, at its hours, rate and multiplier; a
  review entry to a review the person decided; a reversal to the entry it cancels, with its
  opposite amount; an approved or paid entry says when it was approved; a rejected submission
  keeps no unreversed pay and any other one at most one (exactly one unless staff reversed it,
  or finance rejected a payout of it with "reverse");
- no task is filled past its overlap, nobody has a task twice or two at once, the counters
  agree with the rows; nobody reviews their own work;
- no person's sessions overlap, and at most one runs;
- every object's state moved only along the allowed transitions (each object's history is kept
  and every move is checked against the sets below, the contributor's from the app's own
  `STATUS_TRANSITIONS`).

Each example runs inside a savepoint that is rolled back at its end, so every example starts from
the same world. The clock is frozen and moved by the rules (time-machine).

CI runs a fixed, bounded search (derandomized, EXAMPLES × STEPS, well under a minute);
`STATE_MACHINE=full` runs many more and longer examples with the same fixed seed.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Q
from django.test import TestCase
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from assessments.models import Attempt
from assessments.services import (
    attempt_start,
    attempt_submit,
    grading_task_claim_next,
    grading_task_submit,
)
from common.money import quantize
from contributors.models import ContributorProfile, User
from contributors.services import application_submit
from contributors.services.status import STATUS_TRANSITIONS
from evaluations import services as evaluations
from evaluations.errors import LeaseExpired, NoReviewAvailable, NoTaskAvailable
from evaluations.models import Appeal, Assignment, Review, Submission, Task
from marketplace import services as marketplace
from marketplace.errors import EntryNotPending, FourEyesRequired, SessionOverlap
from marketplace.models import (
    EarningEntry,
    Payout,
    PayoutBatch,
    PayoutItem,
    PayPeriod,
    Project,
    WorkSession,
)
from marketplace.services.payouts import (
    batch_build,
    ledger_reconcile,
    payout_approve,
    payout_hold,
    payout_reject,
    payout_settings_update,
    payouts_approve_unflagged,
    payouts_mark_paid,
    payouts_send,
)
from tests.assessments.helpers import answer_all, load_tiny, make_grader
from tests.contributors.factories import ContributorFactory
from tests.evaluations.helpers import project_with_tasks
from tests.evaluations.quality_helpers import reviewer, rubric_scores
from tests.figures import figure
from tests.marketplace.helpers import make_project, qualified, staff
from tests.marketplace.payout_helpers import finance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

FULL = os.environ.get("STATE_MACHINE") == "full"
EXAMPLES = 150 if FULL else 35
STEPS = 80 if FULL else 30
WORKERS = 3
TASKS = 4
OVERLAP = 2
APPLICANTS = 1  # per example: the whole Starter flow is the slowest step
RATIONALE = "The first answer is direct, correct and complete; the second one wanders off."
FULL_MARKS = {
    "q-pair": {"names-danger": "3", "explains": "3"},
    "q-long": {"correct": "5", "clear": "5"},
}

# The allowed moves of each kind of object: {state before (None: new): states after}.
MOVES: dict[str, dict[str | None, set[str]]] = {
    "profile": {
        None: set(ContributorProfile.Status.values),
        **{
            str(before): {str(after) for after in afters}
            for before, afters in STATUS_TRANSITIONS.items()
        },
    },
    "attempt": {None: {"in_progress"}, "in_progress": {"submitted"}, "submitted": {"decided"}},
    "assignment": {None: {"active"}, "active": {"submitted", "skipped", "released", "expired"}},
    # Expert audits are off in this world (rate 0), so an accepted submission is never
    # rejected without going back to review first; only an expert, on appeal, accepts a
    # rejected one.
    "submission": {
        None: {"accepted", "in_review"},
        "in_review": {"accepted", "rejected", "revision"},
        "revision": {"in_review"},
        "accepted": {"in_review"},
        "rejected": {"accepted"},
    },
    "review": {None: {"open"}, "open": {"claimed", "cancelled"}, "claimed": {"done", "open"}},
    "appeal": {None: {"open"}, "open": {"upheld", "overturned"}},
    # Earned money starts pending and waits for approval; a reversal is born approved (a
    # claw-back of money paid or on its way) or reversed (cancelling an unpaid entry with it).
    "entry": {
        None: {"pending"},
        "pending": {"approved", "reversed"},
        "approved": {"paid", "reversed"},
    },
    "reversal": {None: {"approved", "reversed"}, "approved": {"paid"}},
    "payout": {
        None: {"review"},
        "review": {"awaiting_second", "approved", "held", "rejected"},
        "awaiting_second": {"approved", "held", "rejected"},
        "approved": {"sent", "held", "rejected"},
        "sent": {"paid"},
    },
    "batch": {None: {"building", "ready"}, "building": {"ready"}},
    "item": {None: {"live"}, "live": {"released"}},
    # A session closes once, at one moment that never changes afterwards.
    "session": {None: {"open", "closed"}, "open": {"closed"}},
}

State = dict[tuple[str, int], str]


STATES_SQL = " UNION ALL ".join(
    f"SELECT {kind}, id, {state} FROM {model._meta.db_table}"  # noqa: S608  # constants only
    for kind, model, state in (
        ("'profile'", ContributorProfile, "status"),
        ("'attempt'", Attempt, "status"),
        ("'assignment'", Assignment, "status"),
        ("'submission'", Submission, "status"),
        ("'review'", Review, "status"),
        ("'appeal'", Appeal, "status"),
        ("CASE WHEN kind = 'reversal' THEN 'reversal' ELSE 'entry' END", EarningEntry, "state"),
        ("'payout'", Payout, "state"),
        ("'batch'", PayoutBatch, "state"),
        (
            "'item'",
            PayoutItem,
            "CASE WHEN released_at IS NULL THEN 'live' ELSE 'released ' || released_at END",
        ),
        (
            "'session'",
            WorkSession,
            "CASE WHEN ended_at IS NULL THEN 'open' ELSE 'closed ' || ended_at END",
        ),
    )
)


def states_now() -> State:
    """Every tracked object's state, keyed by (kind, pk); one query."""
    with connection.cursor() as cursor:
        cursor.execute(STATES_SQL)
        return {(kind, pk): state for kind, pk, state in cursor.fetchall()}


def move_allowed(kind: str, before: str | None, after: str) -> bool:
    was = before.split(" ")[0] if before else None
    now = after.split(" ")[0]
    if was == now:
        return False  # a closed session's end or an item's release moved: never allowed
    return now in MOVES[kind].get(was, set())


@dataclass
class World:
    manager: User
    admins: list[User]
    workers: list[User]
    peer: User
    expert: User
    graders: list[User]
    tasks_project: Project
    hours_project: Project


@dataclass
class Tally:
    examples: int = 0
    checks: int = 0  # after each example's start and each of its steps
    violations: int = 0
    paid: int = 0
    rules: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def build_world() -> World:
    load_tiny()
    manager = staff()
    admins = [finance(), finance()]
    payout_settings_update(
        actor=admins[0], minimum_amount=Decimal("5.00"), four_eyes_amount=Decimal("40.00")
    )
    tasks_project = project_with_tasks(
        TASKS,
        overlap=OVERLAP,
        actor=manager,
        title="Compare answers, per task",
        pay_model="per_task",
        task_minutes=12,
    )
    evaluations.quality_settings_set(
        project_id=tasks_project.pk,
        actor=manager,
        peer_review=True,
        expert_review=True,
        review_first_n=2,
        review_rate=0.0,
        expert_audit_rate=0.0,
        duplicate_action="off",
    )
    hours_project = make_project(actor=manager, title="Hours")
    workers = [qualified("general") for _ in range(WORKERS)]
    for person in workers:
        for project in (tasks_project, hours_project):
            marketplace.membership_join(project_id=project.pk, user=person)
        bonus = marketplace.earning_adjust(
            contributor=person,
            project=None,
            kind="bonus",
            amount=Decimal("6.00"),
            currency="USD",
            reason="Welcome bonus.",
            actor=manager,
            key=f"welcome-{person.pk}",
        )
        marketplace.earnings_approve(entry_ids=[bonus.pk], actor=manager)
    # Last week's batch (the bonuses) is built and waits for review.
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        period = PayPeriod.objects.create(
            starts_at=timezone.now() - timedelta(days=7), ends_at=timezone.now(), time_zone="UTC"
        )
    with time_machine.travel(period.ends_at + timedelta(minutes=1)):
        batch_build(period_id=period.pk, actor=admins[0])
    return World(
        manager=manager,
        admins=admins,
        workers=workers,
        peer=reviewer("general"),
        expert=reviewer("general", expert=True),
        graders=[make_grader("general"), make_grader("general")],
        tasks_project=tasks_project,
        hours_project=hours_project,
    )


def answers(task: Task, ratings: tuple[int, int], choice: str) -> dict[str, Any]:
    ids = [response["id"] for response in task.responses]
    return {
        "helpfulness": dict(zip(ids, ratings, strict=True)),
        "better": {"choice": choice, "strength": 2},
        "rationale": RATIONALE,
    }


ratings = st.tuples(st.integers(1, 7), st.integers(1, 7))
choices = st.sampled_from(["a", "b"])
minutes = st.one_of(st.integers(1, 40), st.integers(40, 4 * 24 * 60))


class Marketplace(RuleBasedStateMachine):
    """The marketplace, driven through its services; see the module's docstring."""

    world: World
    tally: Tally

    def __init__(self) -> None:
        super().__init__()
        self.tally.examples += 1
        # A savepoint per example, rolled back at its end. It is marked as Django's TestCase
        # marks its own, so that services that insist on a durable transaction (attempt_start)
        # run inside it as they do in every test.
        self.atomic = transaction.atomic()
        self.atomic._from_testcase = True  # as TestCase._enter_atomics does
        self.atomic.__enter__()
        last_cutoff = PayPeriod.objects.latest("ends_at").ends_at
        self.traveller = time_machine.travel(
            max(timezone.now(), last_cutoff) + timedelta(minutes=2), tick=False
        )
        self.clock = self.traveller.start()
        self.workers = [User.objects.get(pk=person.pk) for person in self.world.workers]
        self.applicants = 0
        # Submissions whose pay staff reversed by hand, or finance with a payout's rejection.
        self.by_hand: set[int] = set()
        self.period_start = last_cutoff
        self.states = states_now()
        self.counts = Counter(
            (kind, state.split(" ")[0]) for (kind, _pk), state in self.states.items()
        )
        self.payable = False  # money was approved or freed since the last batch was built
        self.history: dict[tuple[str, int], list[str]] = {
            key: [state] for key, state in self.states.items()
        }
        self.problems: list[str] = []

    def teardown(self) -> None:
        self.traveller.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # -- helpers ---------------------------------------------------------------------------

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """One step. The jobs it queues on commit run when it ends, as after its commit, each
        looked at on its own."""
        self.tally.rules[name] += 1
        with TestCase.captureOnCommitCallbacks() as jobs:
            yield
        self.observe()
        self.run(jobs)

    def run(self, jobs: list[Any]) -> None:
        for job in jobs:
            with TestCase.captureOnCommitCallbacks() as more:
                job()
            self.observe()
            self.run(more)

    def observe(self) -> None:
        """Record every state that moved since the last look, and any move not allowed."""
        now = states_now()
        for key, after in now.items():
            before = self.states.get(key)
            if before == after:
                continue
            self.history.setdefault(key, []).append(after)
            if not move_allowed(key[0], before, after):
                self.problems.append(
                    f"{key[0]} {key[1]} moved {before} -> {after}: history {self.history[key]}"
                )
        for key in self.states.keys() - now.keys():
            self.problems.append(f"{key[0]} {key[1]} disappeared: history {self.history[key]}")
        self.payable = self.payable or any(
            now[key] != self.states.get(key) and now[key].split(" ")[0] in ("approved", "released")
            for key in now
            if key[0] in ("entry", "reversal", "item")
        )
        self.states = now
        self.counts = Counter((kind, state.split(" ")[0]) for (kind, _pk), state in now.items())

    def has(self, kind: str, *states: str) -> bool:
        """Whether some object of `kind` is in one of `states` (a rule's precondition)."""
        return any(self.counts[(kind, state)] for state in states)

    def draw(self, data: st.DataObject, rows: list[Any]) -> Any:
        return data.draw(st.sampled_from(rows)) if rows else None

    @property
    def project(self) -> Project:
        return self.world.tasks_project

    # -- people ----------------------------------------------------------------------------

    @precondition(lambda self: self.applicants < APPLICANTS)
    @rule(passes=st.booleans())
    def apply(self, passes: bool) -> None:
        """A new applicant takes the Starter Assessment; passing, they join both projects."""
        if self.applicants >= APPLICANTS:
            return
        self.applicants += 1
        with self.step("apply"):
            person = ContributorFactory()  # signed up, verified, the application filled in
            application_submit(profile_id=person.profile.pk, actor=person)
            self.observe()
            attempt = attempt_start(user=person, slug="starter")
            self.observe()
            if passes:
                answer_all(attempt, person)
            attempt_submit(attempt_id=attempt.pk, user=person)
        for grader in self.world.graders:
            with self.step("grade"):
                while (task := grading_task_claim_next(grader=grader)) is not None:
                    grading_task_submit(
                        task_id=task.pk,
                        grader=grader,
                        criteria=FULL_MARKS[task.item.question_id],
                        comment="",
                    )
        profile = ContributorProfile.objects.get(user=person)
        assert profile.status == ("active" if passes else "not_approved"), profile.status
        if passes:
            with self.step("join"):
                for project in (self.project, self.world.hours_project):
                    marketplace.membership_join(project_id=project.pk, user=person)
            self.workers.append(User.objects.get(pk=person.pk))

    # -- tasks -----------------------------------------------------------------------------

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        person = self.draw(data, self.workers)
        with self.step("claim"), suppress(NoTaskAvailable):
            evaluations.assignment_next(project_id=self.project.pk, user=person)

    def _active(self) -> list[Assignment]:
        return list(
            Assignment.objects.filter(project=self.project, status="active")
            .select_related("task", "contributor")
            .order_by("pk")
        )

    @precondition(lambda self: self.has("assignment", "active"))
    @rule(data=st.data(), given=ratings, choice=choices)
    def submit(self, data: st.DataObject, given: tuple[int, int], choice: str) -> None:
        assignment = self.draw(data, self._active())
        if assignment is None:
            return
        with self.step("submit"), suppress(LeaseExpired):
            evaluations.submission_submit(
                assignment_id=assignment.pk,
                user=assignment.contributor,
                answers=answers(assignment.task, given, choice),
            )

    @rule(data=st.data(), given=ratings, choice=choices)
    def work(self, data: st.DataObject, given: tuple[int, int], choice: str) -> None:
        """Claim and submit at once, as most people do."""
        person = self.draw(data, self.workers)
        with self.step("work"), suppress(NoTaskAvailable, LeaseExpired):
            assignment = evaluations.assignment_next(project_id=self.project.pk, user=person)
            self.observe()
            evaluations.submission_submit(
                assignment_id=assignment.pk,
                user=person,
                answers=answers(assignment.task, given, choice),
            )

    @precondition(lambda self: self.has("assignment", "active"))
    @rule(data=st.data(), skip=st.booleans())
    def give_back(self, data: st.DataObject, skip: bool) -> None:
        assignment = self.draw(data, self._active())
        if assignment is None:
            return
        with self.step("give_back"):
            if skip:
                evaluations.assignment_skip(
                    assignment_id=assignment.pk, user=assignment.contributor, reason="Not mine."
                )
            else:
                evaluations.assignment_release(
                    assignment_id=assignment.pk, user=assignment.contributor
                )

    @precondition(lambda self: self.has("assignment", "active"))
    @rule()
    def expire_leases(self) -> None:
        with self.step("expire_leases"):
            evaluations.assignments_expire()

    # -- reviews ---------------------------------------------------------------------------

    @precondition(lambda self: self.has("review", "open", "claimed"))
    @rule(verdict=st.sampled_from(["accept", "reject", "revise", "escalate", "release"]))
    def peer_review(self, verdict: str) -> None:
        self._review(self.world.peer, "peer", verdict)

    @precondition(lambda self: self.has("review", "open", "claimed"))
    @rule(verdict=st.sampled_from(["accept", "reject", "revise"]))
    def expert_review(self, verdict: str) -> None:
        self._review(self.world.expert, "expert", verdict)

    def _review(self, person: User, level: str, verdict: str) -> None:
        with self.step(f"{level}_review"):
            try:
                review = evaluations.review_next(
                    user=person, level=level, project_id=self.project.pk
                )
            except NoReviewAvailable:
                return
            self.observe()
            if verdict == "release":
                evaluations.review_release(review_id=review.pk, user=person)
                return
            if review.reason == Review.Reason.APPEAL and verdict == "revise":
                verdict = "reject"  # an appeal is decided: accept or reject
            evaluations.review_decide(
                review_id=review.pk,
                user=person,
                verdict=verdict,
                scores=rubric_scores(),
                comment="Check the second response's claims again.",
            )

    @precondition(lambda self: self.has("submission", "revision"))
    @rule(data=st.data(), given=ratings, choice=choices)
    def resubmit(self, data: st.DataObject, given: tuple[int, int], choice: str) -> None:
        submission = self.draw(
            data,
            list(
                Submission.objects.filter(status="revision")
                .select_related("task", "contributor")
                .order_by("pk")
            ),
        )
        if submission is None:
            return
        with self.step("resubmit"):
            evaluations.submission_resubmit(
                submission_id=submission.pk,
                user=submission.contributor,
                answers=answers(submission.task, given, choice),
            )

    @precondition(lambda self: self.has("submission", "rejected"))
    @rule(data=st.data())
    def appeal(self, data: st.DataObject) -> None:
        submission = self.draw(
            data,
            list(
                Submission.objects.filter(status="rejected", appeal__isnull=True)
                .select_related("contributor")
                .order_by("pk")
            ),
        )
        if submission is None:
            return
        with self.step("appeal"):
            evaluations.appeal_create(
                submission_id=submission.pk,
                user=submission.contributor,
                reason="I followed the guidelines to the letter.",
            )

    # -- time ------------------------------------------------------------------------------

    @rule(data=st.data(), hourly=st.booleans())
    def start_session(self, data: st.DataObject, hourly: bool) -> None:
        person = self.draw(data, self.workers)
        project = self.world.hours_project if hourly else self.project
        with self.step("start_session"), suppress(SessionOverlap):
            marketplace.session_start(user=person, project_id=project.pk)

    def _open_sessions(self) -> list[WorkSession]:
        return list(
            WorkSession.objects.filter(ended_at__isnull=True).select_related("user").order_by("pk")
        )

    @precondition(lambda self: self.has("session", "open"))
    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        session = self.draw(data, self._open_sessions())
        if session is None:
            return
        with self.step("heartbeat"):
            marketplace.session_heartbeat(session_id=session.pk, user=session.user)

    @precondition(lambda self: self.has("session", "open"))
    @rule(data=st.data())
    def stop_session(self, data: st.DataObject) -> None:
        session = self.draw(data, self._open_sessions())
        if session is None:
            return
        with self.step("stop_session"):
            marketplace.session_stop(session_id=session.pk, user=session.user)

    @precondition(lambda self: self.has("session", "open"))
    @rule()
    def close_idle_sessions(self) -> None:
        with self.step("close_idle_sessions"):
            marketplace.sessions_close_idle()

    @rule(by=minutes)
    def move_clock(self, by: int) -> None:
        with self.step("move_clock"):
            self.clock.shift(timedelta(minutes=by))

    # -- the ledger ------------------------------------------------------------------------

    @precondition(lambda self: self.has("entry", "pending"))
    @rule(data=st.data())
    def approve_earnings(self, data: st.DataObject) -> None:
        pending = list(
            EarningEntry.objects.filter(state="pending").order_by("pk").values_list("pk", flat=True)
        )
        if not pending:
            return
        chosen = data.draw(st.lists(st.sampled_from(pending), min_size=1, unique=True))
        with self.step("approve_earnings"):
            moved = marketplace.earnings_approve(entry_ids=chosen, actor=self.world.manager)
        assert moved == len(chosen), (moved, chosen)

    @rule(data=st.data(), where=st.sampled_from(["in_payout", "unpaid", "any"]))
    def reverse_entry(self, data: st.DataObject, where: str) -> None:
        """Staff reverse an entry: one on its way in a payout, one not yet in any, or any."""
        entries = EarningEntry.objects.order_by("pk")
        in_payout = Q(payout_items__released_at__isnull=True, payout_items__isnull=False)
        if where == "in_payout":
            entries = entries.filter(in_payout)
        elif where == "unpaid":
            entries = entries.filter(state__in=["pending", "approved"]).exclude(in_payout)
        entry = self.draw(data, list(entries.distinct()))
        if entry is None:
            return
        with self.step("reverse_entry"), suppress(EntryNotPending):
            marketplace.earning_reverse(
                entry_id=entry.pk, actor=self.world.manager, reason="Corrected by staff."
            )
            if entry.kind == EarningEntry.Kind.TASK:
                self.by_hand.add(int(entry.source_id.split(":")[1]))

    # -- payouts ---------------------------------------------------------------------------

    @precondition(lambda self: self.payable)
    @rule()
    def build_batch(self) -> None:
        """The period up to now closes (a minute passes) and finance build its batch. Periods
        are written as the payout helpers write them: one after the other, no gaps."""
        with self.step("build_batch"):
            if timezone.now() <= self.period_start:
                self.clock.shift(timedelta(minutes=1))
            period = PayPeriod.objects.create(
                starts_at=self.period_start, ends_at=timezone.now(), time_zone="UTC"
            )
            self.period_start = period.ends_at
            self.clock.shift(timedelta(minutes=1))
            batch_build(period_id=period.pk, actor=self.world.admins[0])
            self.payable = False

    def _payouts(self, *states: str, unsent: bool = False) -> list[Payout]:
        payouts = Payout.objects.filter(state__in=states)
        if unsent:
            payouts = payouts.filter(dispatch__isnull=True)
        return list(payouts.order_by("pk"))

    @precondition(lambda self: self.has("payout", "review", "awaiting_second"))
    @rule(data=st.data(), admin=st.integers(0, 1))
    def approve_payout(self, data: st.DataObject, admin: int) -> None:
        payout = self.draw(data, self._payouts("review", "awaiting_second"))
        if payout is None:
            return
        with self.step("approve_payout"), suppress(FourEyesRequired):
            payout_approve(payout_id=payout.pk, actor=self.world.admins[admin])

    @precondition(lambda self: self.has("payout", "review", "awaiting_second"))
    @rule(data=st.data(), admin=st.integers(0, 1))
    def approve_unflagged(self, data: st.DataObject, admin: int) -> None:
        batch = self.draw(data, list(PayoutBatch.objects.filter(state="ready").order_by("pk")))
        if batch is None:
            return
        with self.step("approve_unflagged"):
            payouts_approve_unflagged(batch_id=batch.pk, actor=self.world.admins[admin])

    @precondition(lambda self: self.has("payout", "review", "awaiting_second", "approved"))
    @rule(data=st.data(), how=st.sampled_from(["hold", "return", "reverse"]))
    def stop_payout(self, data: st.DataObject, how: str) -> None:
        payout = self.draw(
            data, self._payouts("review", "awaiting_second", "approved", unsent=True)
        )
        if payout is None:
            return
        if how == "reverse":
            self.by_hand.update(
                int(source.split(":")[1])
                for source in EarningEntry.objects.filter(
                    kind="task", payout_items__payout=payout, payout_items__released_at=None
                ).values_list("source_id", flat=True)
            )
        with self.step(f"payout_{how}"):
            if how == "hold":
                payout_hold(payout_id=payout.pk, actor=self.world.admins[0], reason="Check ID.")
            else:
                payout_reject(
                    payout_id=payout.pk,
                    actor=self.world.admins[0],
                    reason="Work did not meet the bar.",
                    entries=how,
                )

    @precondition(lambda self: self.has("payout", "approved"))
    @rule(data=st.data())
    def send(self, data: st.DataObject) -> None:
        payout = self.draw(data, self._payouts("approved", unsent=True))
        if payout is None:
            return
        with self.step("send"):
            payouts_send(batch_id=payout.batch_id, actor=self.world.admins[1])

    @precondition(lambda self: self.has("payout", "sent"))
    @rule(data=st.data())
    def mark_paid(self, data: st.DataObject) -> None:
        sent = [payout.pk for payout in self._payouts("sent")]
        if not sent:
            return
        chosen = data.draw(st.lists(st.sampled_from(sent), min_size=1, unique=True))
        with self.step("mark_paid"):
            self.tally.paid += payouts_mark_paid(payout_ids=chosen, actor=self.world.admins[1])

    @precondition(lambda self: self.has("payout", "review", "awaiting_second", "approved", "sent"))
    @rule(data=st.data())
    def pay_day(self, data: st.DataObject) -> None:
        """Finance go through a batch at once: every payout approved (a second admin where two
        must), sent and marked paid."""
        batch = self.draw(
            data,
            list(
                PayoutBatch.objects.filter(
                    payouts__state__in=["review", "awaiting_second", "approved", "sent"]
                )
                .distinct()
                .order_by("pk")
            ),
        )
        first, second = self.world.admins
        with self.step("pay_day"):
            payouts_approve_unflagged(batch_id=batch.pk, actor=first)
            self.observe()
            for payout in batch.payouts.filter(state="review"):
                payout_approve(payout_id=payout.pk, actor=first)
            self.observe()
            for payout in batch.payouts.filter(state="awaiting_second"):
                other = second if payout.first_approved_by_id == first.pk else first
                payout_approve(payout_id=payout.pk, actor=other)
            self.observe()
            if batch.payouts.filter(state="approved", dispatch__isnull=True).exists():
                payouts_send(batch_id=batch.pk, actor=second)
            self.observe()
            sent = list(batch.payouts.filter(state="sent").values_list("pk", flat=True))
            if sent:
                self.tally.paid += payouts_mark_paid(payout_ids=sent, actor=second)

    # -- the rules that always hold --------------------------------------------------------

    @invariant()
    def rules_hold(self) -> None:
        self.tally.checks += 1
        self.observe()
        problems = self.problems + sql_problems() + trace_problems(self.by_hand)
        self.problems = []
        if problems:
            self.tally.violations += len(problems)
            raise AssertionError("\n".join(problems))


def trace_problems(by_hand: set[int]) -> list[str]:
    """Every entry traces to its work, and the pay of each submission follows its verdict."""
    problems = []
    entries = {
        row["pk"]: row
        for row in EarningEntry.objects.values(
            "pk",
            "kind",
            "state",
            "amount",
            "multiplier",
            "contributor_id",
            "project_id",
            "source_id",
            "reverses_id",
            "created_by_id",
            "reason",
        )
    }
    prices = {
        pk: quantize(rate * Decimal(minutes or 0) / 60)
        for pk, rate, minutes in Project.objects.values_list("pk", "pay_rate", "task_minutes")
    }
    submissions = dict(Submission.objects.values_list("pk", "contributor_id"))
    sessions = {
        pk: (user, (ended - started) // timedelta(microseconds=1), rate * multiplier)
        for pk, user, started, ended, rate, multiplier in WorkSession.objects.exclude(
            ended_at=None
        ).values_list("pk", "user_id", "started_at", "ended_at", "rate", "multiplier")
    }
    reviews = set(Review.objects.filter(status="done").values_list("pk", "reviewer_id"))
    reversed_ones = {entry["reverses_id"] for entry in entries.values() if entry["reverses_id"]}
    live: Counter[int] = Counter()
    for pk, entry in entries.items():
        kind, person, amount = entry["kind"], entry["contributor_id"], entry["amount"]
        where = f"entry {pk} ({kind} {amount})"
        if kind == EarningEntry.Kind.TASK:
            submission = int(entry["source_id"].split(":")[1])
            price = quantize(prices[entry["project_id"]] * entry["multiplier"])
            if submissions.get(submission) != person or amount != price:
                problems.append(f"{where}: no submission of theirs, or not the task price {price}")
            if entry["state"] != "reversed" and pk not in reversed_ones:
                live[submission] += 1
        elif kind == EarningEntry.Kind.TIME:
            user, microseconds, hourly = sessions.get(int(entry["source_id"]), (None, 0, 0))
            pay = quantize(Decimal(microseconds) / Decimal(3_600_000_000) * hourly)
            if user != person or amount != pay:
                problems.append(f"{where}: not the pay of a closed session of theirs")
        elif kind == EarningEntry.Kind.REVIEW:
            if (int(entry["source_id"]), person) not in reviews:
                problems.append(f"{where}: no review they decided")
        elif kind == EarningEntry.Kind.REVERSAL:
            original = entries[entry["reverses_id"]]
            if original["contributor_id"] != person or amount != -original["amount"]:
                problems.append(f"{where}: does not cancel entry {original['pk']}")
            if (entry["state"] == "reversed") != (original["state"] == "reversed"):
                problems.append(
                    f"{where} is {entry['state']} while entry {original['pk']} it cancels is "
                    f"{original['state']}: cancelled twice, or not at all"
                )
        elif not (entry["created_by_id"] and entry["reason"]):
            problems.append(f"{where}: a bonus or adjustment without its author and reason")
    for pk, status in Submission.objects.values_list("pk", "status").order_by("pk"):
        expected = 0 if status == "rejected" else 1
        if live[pk] > expected or (live[pk] < expected and pk not in by_hand):
            problems.append(f"submission {pk} is {status} with {live[pk]} unreversed task entries")
    return problems


MONEY = """
    SELECT e.contributor_id,
           COALESCE((SELECT SUM(p.amount) FROM marketplace_payout p
                     WHERE p.contributor_id = e.contributor_id AND p.state = 'paid'), 0) AS sent,
           COALESCE(SUM(e.amount) FILTER (WHERE e.state = 'paid'), 0) AS paid,
           COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'reversal' AND e.state = 'approved'), 0)
               AS owed_back,
           COALESCE(SUM(e.amount) FILTER (
               WHERE e.amount > 0 AND e.state IN ('approved', 'paid') AND NOT EXISTS (
                   SELECT 1 FROM marketplace_earningentry r WHERE r.reverses_id = e.id)), 0)
               AS standing,
           COALESCE(SUM(e.amount) FILTER (WHERE e.state <> 'reversed'), 0) AS lifetime
    FROM marketplace_earningentry e
    GROUP BY e.contributor_id
"""

# Each finds the rows that break a rule; a healthy world gives none. All run in one query, built
# from these constants only; `money` is MONEY, per contributor.
CHECKS = {
    "payouts paid differ from the entries paid": "SELECT * FROM money WHERE sent <> paid",
    "paid plus claw-backs owed exceed the approved work that stands": """
        SELECT * FROM money WHERE sent + owed_back > standing""",
    "a lifetime balance below zero": "SELECT * FROM money WHERE lifetime < 0",
    "a payout of zero or less": "SELECT id, amount FROM marketplace_payout WHERE amount <= 0",
    "an approved or paid entry that names no approval": """
        SELECT id, kind, state FROM marketplace_earningentry
        WHERE state IN ('approved', 'paid') AND approved_at IS NULL""",
    "a task handed to one person twice": """
        SELECT task_id, contributor_id FROM evaluations_assignment
        GROUP BY task_id, contributor_id HAVING COUNT(*) > 1""",
    "a task past its overlap": """
        SELECT t.id FROM evaluations_task t WHERE t.filled > t.overlap
           OR (SELECT COUNT(*) FROM evaluations_assignment a
               WHERE a.task_id = t.id AND a.status IN ('active', 'submitted')) > t.overlap
           OR (SELECT COUNT(*) FROM evaluations_submission s WHERE s.task_id = t.id)
              > t.overlap""",
    "a task's counters disagree with its rows": """
        SELECT t.id, t.filled, t.completed FROM evaluations_task t
        WHERE t.filled <> (SELECT COUNT(*) FROM evaluations_assignment a
                           WHERE a.task_id = t.id AND a.status IN ('active', 'submitted'))
           OR t.completed <> (SELECT COUNT(*) FROM evaluations_submission s
                              WHERE s.task_id = t.id)""",
    "two active tasks of one person on one project": """
        SELECT contributor_id, project_id FROM evaluations_assignment WHERE status = 'active'
        GROUP BY contributor_id, project_id HAVING COUNT(*) > 1""",
    "a review of one's own work or of a task one did": """
        SELECT r.id FROM evaluations_review r
        JOIN evaluations_submission s ON s.id = r.submission_id
        WHERE r.reviewer_id = s.contributor_id OR EXISTS (
            SELECT 1 FROM evaluations_assignment a
            WHERE a.task_id = s.task_id AND a.contributor_id = r.reviewer_id)""",
    "two sessions of one person overlap": """
        SELECT a.id AS one, b.id AS other FROM marketplace_worksession a
        JOIN marketplace_worksession b ON a.user_id = b.user_id AND a.id < b.id
        WHERE tstzrange(a.started_at, COALESCE(a.ended_at, 'infinity'))
           && tstzrange(b.started_at, COALESCE(b.ended_at, 'infinity'))""",
    "two sessions of one person running": """
        SELECT user_id FROM marketplace_worksession WHERE ended_at IS NULL
        GROUP BY user_id HAVING COUNT(*) > 1""",
}
CHECKS_SQL = f"WITH money AS ({MONEY}) " + " UNION ALL ".join(  # noqa: S608
    f"(SELECT %s, row_to_json(q)::text FROM ({sql}) q LIMIT 10)"  # noqa: S608
    for sql in CHECKS.values()
)


def sql_problems() -> list[str]:
    problems = [f"reconciliation: {item.rule} {item.rows}" for item in ledger_reconcile()]
    with connection.cursor() as cursor:
        cursor.execute(CHECKS_SQL, list(CHECKS))
        return problems + [f"{rule_broken}: {row}" for rule_broken, row in cursor.fetchall()]


def test_the_marketplace_keeps_its_rules_through_any_sequence_of_steps(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # the CSV provider's files
    Marketplace.world = build_world()
    Marketplace.tally = tally = Tally()
    try:
        run_state_machine_as_test(
            Marketplace,
            settings=hypothesis.settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            ),
        )
    finally:
        figure(
            "state_machine",
            examples=tally.examples,
            steps=tally.checks - tally.examples,
            violations=tally.violations,
            paid_payouts=tally.paid,
            rules=len(tally.rules),
        )


# -- what the machine found, pinned ----------------------------------------------------------


def test_a_claw_back_is_collected_by_the_next_batch() -> None:
    """A reversal of money on its way to the contributor is approved at once: it used to be
    written approved with no approval time, so no batch (which pays what was approved before
    its cut-off) ever took it, and the claw-back was never collected."""
    from tests.marketplace.payout_helpers import closed_period, earn, earner

    admin = finance()
    person = earner()
    entry = earn(person, "50.00", approved_at=timezone.now() - timedelta(days=4))
    first = batch_build(period_id=closed_period(days_ago=3).pk, actor=admin)
    claw_back = marketplace.earning_reverse(entry_id=entry.pk, actor=admin, reason="Copied work.")
    assert (claw_back.state, claw_back.approved_by) == ("approved", admin)
    assert claw_back.approved_at is not None
    later = earn(person, "80.00", approved_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        second = batch_build(
            period_id=PayPeriod.objects.create(
                starts_at=first.cutoff, ends_at=timezone.now(), time_zone="UTC"
            ).pk,
            actor=admin,
        )
    payout = second.payouts.get()
    assert set(payout.items.values_list("entry_id", flat=True)) == {claw_back.pk, later.pk}
    assert payout.amount == Decimal("30.00")
    assert ledger_reconcile() == []


@pytest.mark.parametrize("entries", ["return", "reverse"])
def test_an_entry_clawed_back_then_released_from_its_payout_is_not_cancelled_twice(
    entries: str,
) -> None:
    """Reversed inside a payout, an entry gets an approved claw-back and stays approved. When
    the payout is then rejected, the entry is free again; reversing it once more (by hand, or
    by rejecting with "reverse") must not also mark it reversed, or the contributor loses its
    amount twice: their lifetime balance went to -50.00."""
    from tests.marketplace.payout_helpers import closed_period, earn, earner

    admin = finance()
    person = earner()
    entry = earn(person, "50.00", approved_at=timezone.now() - timedelta(days=4))
    payout = batch_build(period_id=closed_period(days_ago=3).pk, actor=admin).payouts.get()
    claw_back = marketplace.earning_reverse(entry_id=entry.pk, actor=admin, reason="Copied.")
    payout_reject(payout_id=payout.pk, actor=admin, reason="Copied work.", entries=entries)

    again = marketplace.earning_reverse(entry_id=entry.pk, actor=admin, reason="Copied.")

    assert again.pk == claw_back.pk
    assert EarningEntry.objects.filter(contributor=person).count() == 2
    states = dict(EarningEntry.objects.values_list("pk", "state"))
    assert (states[entry.pk], states[claw_back.pk]) == ("approved", "approved")
    balance = EarningEntry.objects.filter(contributor=person).exclude(state="reversed")
    assert sum(balance.values_list("amount", flat=True)) == 0
