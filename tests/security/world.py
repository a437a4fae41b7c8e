"""The world of the access-control matrix: seven people in seven roles, and for every path
parameter of every route a real object that belongs to "the owner".

The owner is an active contributor in the general track who also reviews and grades (so that
reviews and grading tasks have an owner too): they hold an assessment attempt in progress, a
project membership, an assignment with a code run, submissions with reviews, a running work
session, a manual time entry, earnings, a payout in a built batch, a peer review of someone
else's work and a grading task. Their own work includes a wrongly answered gold task, reviewed
by an expert. Staff made the rest: an import job, an aggregation run, a quality action about the
owner, a pay period with its batch, and an earlier batch that was sent (its dispatch).
Everything is made through the services, as in the app's own tests; rows are written directly
only where no service makes them (a finished starter attempt, a code run, a quality action).

Staff-only data is planted with SENTINEL strings (answer keys, rubric criteria, hidden tests,
gold answers, staff notes, evidence, people's names in blind review) and each person's pay with
a distinctive amount, so that a leak is found by searching every answer's text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from assessments.models import Assessment, Attempt
from assessments.services import (
    assessment_content_load,
    attempt_answer,
    attempt_score,
    attempt_start,
    attempt_submit,
    grading_task_claim_next,
)
from contributors.models import ContributorProfile, Qualification, User
from contributors.services import contributor_suspend
from evaluations import services as evaluations
from evaluations.models import Assignment, CodeRun, QualityAction, Review, Submission, Task
from evaluations.services import distribution
from marketplace import services as marketplace
from marketplace.models import Payout
from marketplace.services.payouts import batch_build, payout_approve, payouts_send
from tests.contributors.factories import ContributorFactory, UserFactory
from tests.evaluations.helpers import jsonl, project_with_tasks, task_line
from tests.evaluations.quality_helpers import GOLD, right_answers, rubric_scores, wrong_answers
from tests.marketplace.payout_helpers import closed_period, earn, finance

CONTENT = Path(__file__).parent / "content"
ROLES = ("owner", "other", "reviewer", "staff", "finance", "anon", "suspended")
CONTRIBUTOR_ROLES = ("owner", "other", "reviewer", "suspended")

# Text that must never reach a contributor, each planted once in staff-only data.
SENTINELS = {
    "SENTINEL-KEY": "assessment answer keys (short-text accepts and patterns)",
    "sentinel-key-pattern": "assessment answer keys (short-text patterns)",
    "SENTINEL-RUBRIC": "assessment rubric criteria (graders see them on their own grading task)",
    "SENTINEL-HIDDEN-TEST": "hidden tests of a coding assessment and of a code task",
    "SENTINEL-GOLD": "a gold task's expected answers",
    "SENTINEL-STAFF-NOTE": "a reviewer's note for staff and experts",
    "SENTINEL-EVIDENCE": "the evidence behind a quality action",
    "SENTINEL-TASK-METADATA": "a task's metadata, for staff",
    "Sentinel Author": "who did the work under peer review (reviews are blind)",
    "Sentinel Candidate": "whose assessment answer is graded (grading is blind)",
    "Sentinel Reviewer": "who reviewed a contributor's work (reviews are blind)",
    "Differs from the expected": "the gold check's finding: it tells that a task is gold",
}
# Each person's pay: an amount nobody else may see (checked as text in every answer).
PAY = {"owner": "7731.19", "other": "6642.28", "reviewer": "5553.37", "suspended": "4464.46"}


@dataclass
class World:
    people: dict[str, User | None]
    tokens: dict[str, str]
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.objects[name]
        except KeyError as error:
            raise AttributeError(name) from error


def _qualified(user: User, *codes: str) -> User:
    for code in codes:
        Qualification.objects.create(user=user, code=code, source="matrix")
    return User.objects.get(pk=user.pk)


def _reviewer_role(user: User, *, expert: bool = False) -> User:
    user.groups.add(Group.objects.get(name="expert_reviewer" if expert else "reviewer"))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


def _passed_starter(user: User) -> None:
    """A finished, passed Starter Assessment (the general qualification is granted apart)."""
    now = timezone.now()
    Attempt.objects.create(
        assessment=Assessment.objects.get(slug="starter", is_current=True),
        slug="starter",
        is_starter=True,
        user=user,
        number=1,
        status="decided",
        started_at=now - timedelta(hours=2),
        deadline_at=now - timedelta(hours=1),
        submitted_at=now - timedelta(hours=1),
        submitted_by="candidate",
        decided_at=now - timedelta(minutes=30),
        passed=True,
        score_percent=100,
        max_points=30,
    )


def _claim(project_id: int, user: User, *, gold: bool = False) -> Assignment:
    """The next task; `gold` makes the draw pick a gold task (the draw is random otherwise)."""
    with mock.patch.object(distribution._random, "random", return_value=0.0 if gold else 0.99):
        return evaluations.assignment_next(project_id=project_id, user=user)


def _submit(assignment: Assignment, user: User, answers: dict[str, Any]) -> Submission:
    return evaluations.submission_submit(assignment_id=assignment.pk, user=user, answers=answers)


def build_world() -> World:
    """Make the people and every object the routes' path parameters name."""
    assessment_content_load(paths=[CONTENT / "matrix-starter.yaml", CONTENT / "matrix-code.yaml"])
    staff = UserFactory(roles=("staff",), is_staff=True, full_name="Sam Staff")
    fin = finance()
    owner = _reviewer_role(_qualified(ContributorFactory(status="active"), "general"))
    other = _qualified(ContributorFactory(status="active"), "general")
    reviewer = _reviewer_role(_qualified(ContributorFactory(status="active"), "programming:python"))
    suspended = _qualified(ContributorFactory(status="active"), "general")
    author = _qualified(ContributorFactory(status="active", full_name="Sentinel Author"), "general")
    expert = _reviewer_role(
        _qualified(ContributorFactory(status="active", full_name="Sentinel Reviewer"), "general"),
        expert=True,
    )
    candidate = ContributorFactory(status="assessing", full_name="Sentinel Candidate")
    for person, role in ((owner, "owner"), (other, "other"), (reviewer, "reviewer")):
        ContributorProfile.objects.filter(user=person).update(payout_email=f"{role}@bank.test")
    objects: dict[str, Any] = {"author": author, "expert": expert, "candidate": candidate}

    # Assessments: the owner grades the candidate's written answer and takes the coding one.
    attempt = attempt_start(user=candidate, slug="starter")
    for item in attempt.items.all():
        answer = {
            "q-single": {"choice": "b"},
            "q-short": {"text": "a guess"},
            "q-pair": {"choice": "b", "justification": "B names the danger and avoids it."},
            "q-long": {"text": "Cool the burn under running water for twenty minutes, then."},
        }.get(item.question_id, {"choice": "a"})
        attempt_answer(attempt_id=attempt.pk, user=candidate, item_id=item.pk, answer=answer)
    attempt_submit(attempt_id=attempt.pk, user=candidate)
    attempt_score(attempt_id=attempt.pk)
    objects["grading_task"] = grading_task_claim_next(grader=owner)
    grading_task_claim_next(grader=expert)  # someone else's, for the lists
    for person in (owner, other):
        _passed_starter(person)
    objects["attempt"] = attempt_start(user=owner, slug="matrix-code")
    objects["attempt_item"] = objects["attempt"].items.get(question_id="q-code")

    # A project with a form, tasks (one with hidden tests, two gold) and review of all work.
    project = project_with_tasks(0, actor=staff, title="Matrix project")
    lines = [
        task_line(n, metadata={"note": "SENTINEL-TASK-METADATA"}, priority=10 - n)
        for n in range(10)
    ]
    lines[4]["tests"] = "assert 'SENTINEL-HIDDEN-TEST'\n"
    evaluations.tasks_import(project_id=project.pk, handle=jsonl(lines), fmt="jsonl")
    evaluations.quality_settings_set(
        project_id=project.pk, actor=staff, peer_review=True, gold_ratio=0.1
    )
    gold_tasks = list(Task.objects.filter(project=project, external_id__in=["t8", "t9"]))
    for task in gold_tasks:
        evaluations.gold_set(
            task_id=task.pk,
            actor=staff,
            answers={**GOLD, "rationale": "SENTINEL-GOLD expected rationale"},
        )
    objects["project"] = project
    objects["gold_task"] = gold_tasks[0]
    for person in (owner, other, suspended, author, expert):
        marketplace.membership_join(project_id=project.pk, user=person)

    # The author's work waits for review: first a wrongly answered gold task (flagged by the
    # gold check), then two normal tasks. The owner, a peer reviewer, takes the oldest peer
    # review there is: were a gold submission ever reviewed by peers, it would be that one.
    _submit(_claim(project.pk, author, gold=True), author, wrong_answers())
    for _ in range(2):
        _submit(_claim(project.pk, author), author, right_answers())
    objects["review"] = evaluations.review_next(user=owner, project_id=project.pk)
    other_work = _claim(project.pk, other)
    objects["other_submission"] = _submit(other_work, other, right_answers())
    objects["other_assignment"] = _claim(project.pk, other)
    # The owner's own work: a gold task answered wrongly, reviewed by an expert who leaves a
    # note for staff, and a task in hand (the one with hidden tests).
    objects["submission"] = _submit(_claim(project.pk, owner, gold=True), owner, wrong_answers())
    owner_review = Review.objects.get(submission=objects["submission"])
    evaluations.review_claim(review_id=owner_review.pk, user=expert)
    evaluations.review_decide(
        review_id=owner_review.pk,
        user=expert,
        verdict="revise",
        scores=rubric_scores(3),
        comment="Say why A is better in one more sentence.",
        staff_note="SENTINEL-STAFF-NOTE: checks out, but watch this person.",
    )
    objects["assignment"] = _claim(project.pk, owner)
    assert objects["assignment"].task.tests, "the owner's task in hand is the one with tests"
    objects["code_run"] = CodeRun.objects.create(
        assignment=objects["assignment"], code="print(1)", source="a"
    )

    # Time: the owner's clock runs; the other's manual entry and the owner's both wait.
    now = timezone.now()
    objects["manual_entry"] = marketplace.manual_entry_create(
        user=owner,
        project_id=project.pk,
        started_at=now - timedelta(days=1, hours=3),
        ended_at=now - timedelta(days=1, hours=2),
        reason="Worked offline on the train.",
    )
    marketplace.manual_entry_create(
        user=other,
        project_id=project.pk,
        started_at=now - timedelta(days=1, hours=3),
        ended_at=now - timedelta(days=1, hours=2),
        reason="Worked offline at home.",
    )
    other_session = marketplace.session_start(user=other, project_id=project.pk)
    marketplace.session_stop(session_id=other_session.pk, user=other)
    objects["session"] = marketplace.session_start(user=owner, project_id=project.pk)

    # Staff's jobs and decisions about the owner.
    objects["import_job"] = evaluations.import_job_create(
        project_id=project.pk,
        actor=staff,
        upload=io.BytesIO(b'{"prompt": "p", "responses": [{"id": "a", "text": "t"}]}\n'),
        name="more.jsonl",
        fmt="jsonl",
        skip_invalid=False,
    )
    objects["aggregation"] = evaluations.aggregation_request(project_id=project.pk, actor=staff)
    QualityAction.objects.create(
        user=owner,
        project=project,
        track="general",
        kind="warn",
        reason="Two gold answers missed this week.",
        evidence={"gold": "SENTINEL-EVIDENCE of the warning"},
    )
    objects["quality_action"] = QualityAction.objects.create(
        user=owner,
        project=project,
        track="general",
        kind="revoke",
        status="awaiting",
        reason="Gold accuracy below the bar.",
        evidence={"gold": "SENTINEL-EVIDENCE of the revocation"},
        qualification_code="general",
    )

    # Payouts: an earlier batch was approved and sent (its dispatch); the last period's batch
    # holds everyone's payout in review. The owner also has an approved and a pending earning.
    earn(author, "55.00", approved_at=now - timedelta(days=20), created_at=now - timedelta(days=21))
    sent = batch_build(period_id=closed_period(days_ago=15).pk)
    for payout in sent.payouts.all():
        payout_approve(payout_id=payout.pk, actor=fin)
    objects["dispatch"] = payouts_send(batch_id=sent.pk, actor=fin)
    for role, person in (("owner", owner), ("other", other), ("reviewer", reviewer)):
        earn(person, PAY[role], project=project)
    earn(suspended, PAY["suspended"], project=project)
    objects["period"] = closed_period()
    objects["batch"] = batch_build(period_id=objects["period"].pk)
    objects["payout"] = Payout.objects.get(batch=objects["batch"], contributor=owner)
    objects["earning"] = earn(owner, "12.34", approved_at=now - timedelta(hours=1))
    objects["pending_earning"] = earn(owner, "3.21", state="pending")

    # Tokens and sessions first, then the suspension: both must stop working at once.
    people: dict[str, User | None] = {
        "owner": owner,
        "other": other,
        "reviewer": reviewer,
        "staff": staff,
        "finance": fin,
        "anon": None,
        "suspended": suspended,
    }
    tokens = {
        role: Token.objects.create(user=person).key
        for role, person in people.items()
        if person is not None
    }
    contributor_suspend(
        profile_id=suspended.profile.pk, actor=staff, reason="Copied answers between accounts."
    )
    people["suspended"] = User.objects.get(pk=suspended.pk)
    return World(people=people, tokens=tokens, objects=objects)
