"""Scoring a submitted attempt, item by item, and deciding it when every item is scored."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from assessments.code_runner import code_tests_run
from assessments.models import Attempt, AttemptItem
from assessments.questions import OBJECTIVE, human_part_is_empty, points, score_objective
from assessments.services.grading import grading_tasks_create
from assessments.services.trail import trail
from common.jobs import enqueue_on_commit
from common.sandbox import sandbox_check
from contributors.models import ContributorProfile
from contributors.services import contributor_decide, qualification_grant

logger = logging.getLogger(__name__)


def attempt_score(*, attempt_id: int) -> None:
    """Score what can be scored now; send code to the sandbox and written answers to graders.

    Runs once per submitted attempt whatever retries happen: only items still open are touched,
    under the attempt's row lock.
    """
    from assessments.tasks import attempt_decide_task, item_code_score_task

    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("assessment")
            .filter(pk=attempt_id)
            .first()
        )
        if attempt is None or attempt.status != Attempt.Status.SUBMITTED:
            return
        items = list(attempt.items.select_for_update().filter(status=AttemptItem.Status.OPEN))
        for item in items:
            question = attempt.assessment.question(item.question_id)
            if item.qtype in OBJECTIVE:
                item.score, detail = score_objective(question, item.answer)
                item.auto_points = item.score
                item.status = AttemptItem.Status.SCORED
                item.scoring = {"auto": detail}
            elif item.qtype in ("pairwise", "long_form"):
                auto, detail = (
                    score_objective(question, item.answer)
                    if item.qtype == "pairwise"
                    else (Decimal(0), {})
                )
                item.auto_points = auto
                item.scoring = {"auto": detail}
                if human_part_is_empty(question, item.answer):
                    item.human_points = Decimal(0)
                    item.score = auto
                    item.status = AttemptItem.Status.SCORED
                    item.scoring["human"] = {"points": "0", "how": "nothing written"}
                else:
                    item.status = AttemptItem.Status.AWAITING_GRADERS
            elif item.qtype == "code":
                if human_part_is_empty(question, item.answer):
                    item.score = Decimal(0)
                    item.status = AttemptItem.Status.SCORED
                    item.scoring = {"code": {"reason": "No code was submitted."}}
                else:
                    item.status = AttemptItem.Status.AWAITING_SANDBOX
                    enqueue_on_commit(item_code_score_task, item.pk)
            item.save(update_fields=["score", "auto_points", "human_points", "status", "scoring"])
            if item.status == AttemptItem.Status.AWAITING_GRADERS:
                grading_tasks_create(item=item, attempt=attempt, rounds=(1, 2))
            elif item.status == AttemptItem.Status.SCORED:
                trail(attempt, "item_scored", item=item, score=str(item.score), how="automatic")
        enqueue_on_commit(attempt_decide_task, attempt.pk)


def item_code_score(*, item_id: int) -> None:
    """Run a code answer against the hidden tests in the sandbox and score it.

    Without a working sandbox the item waits for human graders instead of running unconfined.
    """
    from assessments.tasks import attempt_decide_task

    item = AttemptItem.objects.select_related("attempt__assessment").filter(pk=item_id).first()
    if item is None or item.status != AttemptItem.Status.AWAITING_SANDBOX:
        return
    question = item.attempt.assessment.question(item.question_id)
    available, why = sandbox_check()
    grade = code_tests_run(question=question, code=item.answer["code"]) if available else None
    with transaction.atomic():
        item = (
            AttemptItem.objects.select_for_update()
            .select_related("attempt__assessment")
            .get(pk=item_id)
        )
        if item.status != AttemptItem.Status.AWAITING_SANDBOX:
            return  # a duplicate delivery got here first
        if grade is None:
            item.status = AttemptItem.Status.AWAITING_GRADERS
            item.scoring = {"code": {"reason": f"Graded by people: {why}"}}
            item.save(update_fields=["status", "scoring"])
            trail(item.attempt, "sandbox_unavailable", item=item, reason=why)
            grading_tasks_create(item=item, attempt=item.attempt, rounds=(1, 2))
            return
        item.score = points(item.points * grade.share)
        item.auto_points = item.score
        item.status = AttemptItem.Status.SCORED
        item.scoring = {"code": grade.as_dict()}
        item.save(update_fields=["score", "auto_points", "status", "scoring"])
        trail(item.attempt, "sandbox_run", item=item, **grade.as_dict())
        trail(item.attempt, "item_scored", item=item, score=str(item.score), how="hidden tests")
        enqueue_on_commit(attempt_decide_task, item.attempt_id)


def attempt_decide(*, attempt_id: int) -> Attempt | None:
    """Decide an attempt once every item is scored: the weighted score, pass or fail, and
    what a pass grants. Deciding again changes nothing."""
    from assessments.tasks import attempt_decision_mail_task

    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("assessment", "user")
            .filter(pk=attempt_id)
            .first()
        )
        if attempt is None or attempt.status != Attempt.Status.SUBMITTED:
            return attempt
        items = list(attempt.items.all())
        if any(item.status != AttemptItem.Status.SCORED for item in items):
            return attempt
        assessment = attempt.assessment
        total = points(sum((item.score for item in items), Decimal(0)))
        percent = points(total / attempt.max_points * 100) if attempt.max_points else Decimal(0)
        sections = []
        for key, title in assessment.section_titles().items():
            mine = [item for item in items if item.section_key == key]
            if mine:
                sections.append(
                    {
                        "key": key,
                        "title": title,
                        "points": str(points(sum((item.score for item in mine), Decimal(0)))),
                        "max_points": str(points(sum((item.points for item in mine), Decimal(0)))),
                    }
                )
        attempt.score_points = total
        attempt.score_percent = percent
        attempt.passed = percent >= assessment.pass_mark
        attempt.breakdown = sections
        attempt.status = Attempt.Status.DECIDED
        attempt.decided_at = timezone.now()
        attempt.save(
            update_fields=[
                "score_points",
                "score_percent",
                "passed",
                "breakdown",
                "status",
                "decided_at",
            ]
        )
        trail(attempt, "decided", score=str(total), percent=str(percent), passed=attempt.passed)
        if attempt.passed:
            for code in assessment.grants:
                qualification_grant(
                    user=attempt.user,
                    code=code,
                    source=f"{assessment.title} v{assessment.version}, attempt {attempt.pk}",
                )
                trail(attempt, "qualification_granted", code=code)
        if assessment.is_starter:
            profile = ContributorProfile.objects.filter(user=attempt.user).first()
            if profile is not None and profile.status == ContributorProfile.Status.ASSESSING:
                verdict = "passed" if attempt.passed else "not passed"
                contributor_decide(
                    profile_id=profile.pk,
                    approved=bool(attempt.passed),
                    actor=None,
                    reason=f"Starter Assessment {verdict} with {percent}% (attempt {attempt.pk}).",
                )
        enqueue_on_commit(attempt_decision_mail_task, attempt.pk)
    logger.info("attempt.decided", extra={"attempt_id": attempt.pk, "passed": attempt.passed})
    return attempt


def attempt_decision_mail_send(*, attempt_id: int) -> bool:
    """Tell the candidate the decision by e-mail."""
    attempt = Attempt.objects.select_related("assessment", "user").filter(pk=attempt_id).first()
    if attempt is None or attempt.status != Attempt.Status.DECIDED:
        return False
    link = settings.SITE_URL.rstrip("/") + reverse("assessments:result", args=[attempt.pk])
    send_mail(
        subject=f"Your {attempt.assessment.title} result",
        message=render_to_string(
            "assessments/email/decision.txt", {"attempt": attempt, "link": link}
        ),
        from_email=None,
        recipient_list=[attempt.user.email],
    )
    return True
