"""Review layers: which submissions are reviewed, reviewers taking and deciding them, revisions,
expert audits and appeals, and what a verdict does to pay.

Peer reviewers see a share of the work: every one of a person's first N submissions on a
project, then a set rate (halved for a strong standing, doubled for a person on watch), plus
everything a check flagged or people disagreed on. Experts take escalations, appeals and a
sample of peer verdicts; an expert's verdict is final, and a peer verdict it contradicts is
marked overturned (which counts against that reviewer).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from common.errors import InvalidInput, NotFound
from contributors.models import QualityScore, StandingChange, User
from contributors.selectors import standing_at
from evaluations.errors import (
    AppealRefused,
    NoReviewAvailable,
    NotReviewer,
    OwnWork,
    ReviewClosed,
)
from evaluations.models import (
    EXPERT_PERMISSION,
    PEER_PERMISSION,
    Appeal,
    Assignment,
    QualitySettings,
    Review,
    Submission,
    Task,
)
from evaluations.selectors import form_schema, quality_settings_for
from marketplace.models import EarningEntry, Project
from marketplace.selectors import multiplier_for_user, project_track, projects_eligible_for
from marketplace.services import (
    earning_for_source,
    earning_record_review,
    earning_record_task,
    earning_reverse,
)

logger = logging.getLogger(__name__)
Problems = dict[str, list[str]]
REVIEW_LEASE = timedelta(minutes=60)
TRUSTED = {StandingChange.Standing.STRONG, StandingChange.Standing.EXCEPTIONAL}
SLIPPING = {QualityScore.Level.WATCH, QualityScore.Level.AT_RISK}


def sample_unit(*parts: object) -> float:
    """A number in [0, 1) fixed by its parts and the secret key: reproducible for a given
    submission, unpredictable to the person (who does not know the key)."""
    text = ":".join(str(part) for part in (settings.SECRET_KEY, *parts))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def review_rate_for(*, user: User, project: Project, quality: QualitySettings) -> float:
    """The sampling rate after the first N: trust lowers it, slipping raises it."""
    rate = quality.review_rate
    if standing_at(user=user) in TRUSTED:
        rate /= 2
    if QualityScore.objects.filter(
        user=user, track=project_track(project=project), level__in=SLIPPING
    ).exists():
        rate *= 2
    return min(rate, 1.0)


def review_reason(
    *, submission: Submission, project: Project, quality: QualitySettings
) -> str | None:
    """Why a new submission is reviewed (its reason), or None when it is not."""
    if not (quality.peer_review or quality.expert_review):
        return None
    if submission.flags:
        return Review.Reason.FLAGGED
    if submission.is_gold:
        return None  # checked against its gold answer already
    done_before = Submission.objects.filter(
        project_id=submission.project_id, contributor_id=submission.contributor_id
    ).count()
    if done_before <= quality.review_first_n:
        return Review.Reason.FIRST
    rate = review_rate_for(user=submission.contributor, project=project, quality=quality)
    if sample_unit("review", submission.pk) < rate:
        return Review.Reason.SAMPLED
    return None


def first_review_level(quality: QualitySettings, *, is_gold: bool = False) -> str:
    """Peer review where the project has it, else expert. A gold submission always goes to an
    expert: its flags say the task is gold and how the answer differs from the expected one,
    which a peer, who may be handed the same gold task later, must never learn."""
    return Review.Level.PEER if quality.peer_review and not is_gold else Review.Level.EXPERT


def review_open(
    *, submission: Submission, level: str, reason: str, audit_of: Review | None = None
) -> Review:
    """Queue a review of a submission (or return the one already waiting at that level)."""
    live = Review.objects.filter(
        submission=submission, level=level, status__in=[Review.Status.OPEN, Review.Status.CLAIMED]
    ).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            return Review.objects.create(
                submission=submission,
                project_id=submission.project_id,
                author_id=submission.contributor_id,
                level=level,
                reason=reason,
                audit_of=audit_of,
            )
    except IntegrityError:
        return Review.objects.get(
            submission=submission,
            level=level,
            status__in=[Review.Status.OPEN, Review.Status.CLAIMED],
        )


def _choice(question_type: str, answer: Any) -> str | None:
    if question_type == "preference" and isinstance(answer, dict):
        return str(answer.get("choice"))
    if question_type == "single_label" and isinstance(answer, str):
        return answer
    return None


def disagreement_check(*, task_id: int, quality: QualitySettings) -> int:
    """Once a task has all its submissions: when the most common choice of a preference or
    label question has a share below the project's bar, send the task's accepted submissions
    to review. Returns how many were sent."""
    if not (quality.peer_review or quality.expert_review):
        return 0
    if not Task.objects.filter(pk=task_id, completed__gte=F("overlap"), is_gold=False).exists():
        return 0
    submissions = list(
        Submission.objects.filter(task_id=task_id)
        .exclude(status=Submission.Status.REJECTED)
        .select_related("form")
    )
    if len(submissions) < 2:
        return 0
    form = form_schema(submissions[0].form)
    split = False
    for question in form.questions:
        choices = [_choice(question.type, s.answers.get(question.name)) for s in submissions]
        choices = [c for c in choices if c is not None]
        if len(choices) >= 2:
            top = Counter(choices).most_common(1)[0][1]
            split = split or top / len(choices) < quality.disagreement_share
    if not split:
        return 0
    sent = 0
    for submission in submissions:
        if submission.status != Submission.Status.ACCEPTED or submission.reviews.exists():
            continue
        review_open(
            submission=submission,
            level=first_review_level(quality),
            reason=Review.Reason.DISAGREEMENT,
        )
        Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.IN_REVIEW)
        sent += 1
    return sent


def _require_level(user: User, level: str) -> None:
    needed = EXPERT_PERMISSION if level == Review.Level.EXPERT else PEER_PERMISSION
    if not user.has_perm(needed):
        raise NotReviewer(
            "Only expert reviewers take expert reviews."
            if level == Review.Level.EXPERT
            else "Only reviewers review submissions."
        )


def _reviewable_by(user: User) -> Any:
    """Reviews this person may take: projects they qualify for, never their own work, never a
    task they worked on."""
    worked = Assignment.objects.filter(task=OuterRef("submission__task"), contributor=user)
    return (
        Review.objects.filter(project__in=projects_eligible_for(user=user))
        .exclude(author=user)
        .exclude(Exists(worked))
    )


def _claim(review: Review, user: User) -> Review:
    now = timezone.now()
    review.status = Review.Status.CLAIMED
    review.reviewer = user
    review.claimed_at = now
    review.lease_expires_at = now + REVIEW_LEASE
    review.save(update_fields=["status", "reviewer", "claimed_at", "lease_expires_at"])
    Submission.objects.filter(pk=review.submission_id, review_started_at__isnull=True).update(
        review_started_at=now
    )
    logger.info("review.claimed", extra={"review_id": review.pk, "reviewer_id": user.pk})
    return review


def _held_by(user: User) -> Review | None:
    return Review.objects.filter(reviewer=user, status=Review.Status.CLAIMED).first()


def review_next(
    *, user: User, level: str = Review.Level.PEER, project_id: int | None = None
) -> Review:
    """Take the oldest waiting review this person may do (or the one they already hold)."""
    if level not in Review.Level.values:
        raise InvalidInput(fields={"level": [f"Choose one of: {', '.join(Review.Level.values)}."]})
    _require_level(user, level)
    held = _held_by(user)
    if held is not None:
        return held
    try:
        with transaction.atomic():
            waiting = _reviewable_by(user).filter(status=Review.Status.OPEN, level=level)
            if project_id is not None:
                waiting = waiting.filter(project_id=project_id)
            review = (
                waiting.select_for_update(skip_locked=True, of=("self",))
                .order_by("created_at", "id")
                .first()
            )
            if review is None:
                raise NoReviewAvailable()
            return _claim(review, user)
    except IntegrityError as error:  # a second claim of the same person raced this one
        held = _held_by(user)
        if held is None:
            raise NoReviewAvailable() from error
        return held


def review_claim(*, review_id: int, user: User) -> Review:
    """Take one particular waiting review (from the queue's list), with the reason when not
    allowed: one's own work or a task one worked on, a project one does not qualify for."""
    with transaction.atomic():
        review = (
            Review.objects.select_for_update(of=("self",))
            .select_related("submission")
            .filter(pk=review_id)
            .first()
        )
        if review is None:
            raise NotFound(f"Review {review_id} does not exist.")
        _require_level(user, review.level)
        if (
            review.author_id == user.pk
            or Assignment.objects.filter(
                task_id=review.submission.task_id, contributor=user
            ).exists()
        ):
            raise OwnWork()
        if not projects_eligible_for(user=user).filter(pk=review.project_id).exists():
            raise NotReviewer("You do not qualify for this project's track.")
        if review.status != Review.Status.OPEN:
            raise ReviewClosed(f"This review is {review.get_status_display().lower()}.")
        if _held_by(user) is not None:
            raise ReviewClosed("Finish or hand back the review you hold first.")
        return _claim(review, user)


def review_get_for_reviewer(*, review_id: int, user: User, for_update: bool = False) -> Review:
    reviews = Review.objects.select_related("submission__task", "submission__form", "project")
    if for_update:
        reviews = reviews.select_for_update(of=("self",))
    review = reviews.filter(pk=review_id).first()
    if review is None or (review.reviewer_id != user.pk and not user.has_perm(EXPERT_PERMISSION)):
        raise NotFound(f"Review {review_id} does not exist.")
    return review


def _check_scores(scores: Any, rubric: list[dict[str, Any]]) -> tuple[dict[str, int], Problems]:
    """Points for every criterion of the rubric, each within 0..its max."""
    if not isinstance(scores, dict):
        return {}, {"scores": ["Expected {criterion: points}."]}
    problems: Problems = {}
    clean: dict[str, int] = {}
    for item in rubric:
        value = scores.get(item["name"])
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= item["max"]:
            problems[f"scores.{item['name']}"] = [f"Give 0 to {item['max']} points."]
        else:
            clean[item["name"]] = value
    for name in set(scores) - {item["name"] for item in rubric}:
        problems[f"scores.{name}"] = ["Not a criterion of this project's rubric."]
    return clean, problems


def _pay_task(submission: Submission, *, again: bool) -> None:
    project = submission.project
    if project.pay_model != Project.PayModel.PER_TASK:
        return
    earning_record_task(
        contributor=submission.contributor,
        project=project,
        source_id=f"submission:{submission.pk}" + (":reinstated" if again else ""),
        active_seconds=submission.active_seconds,
        multiplier=multiplier_for_user(user=submission.contributor, at=submission.created_at),
    )


def _unpay_task(submission: Submission, *, why: str) -> None:
    for source in (f"submission:{submission.pk}", f"submission:{submission.pk}:reinstated"):
        entry = earning_for_source(kind="task", source_id=source)
        if entry is not None and entry.state != EarningEntry.State.REVERSED:
            earning_reverse(entry_id=entry.pk, actor=None, reason=why)


def _settle(submission: Submission, verdict: str, review: Review) -> None:
    """Put the submission where the verdict says, and its pay with it."""
    was = submission.status
    now = timezone.now()
    if verdict == Review.Verdict.ACCEPT:
        submission.status = Submission.Status.ACCEPTED
        if was == Submission.Status.REJECTED:
            _pay_task(submission, again=True)
    elif verdict == Review.Verdict.REJECT:
        submission.status = Submission.Status.REJECTED
        if was != Submission.Status.REJECTED:
            _unpay_task(
                submission, why=f"Rejected in {review.get_level_display().lower()} {review.pk}."
            )
    elif verdict == Review.Verdict.REVISE:
        submission.status = Submission.Status.REVISION
    submission.decided_at = now
    submission.save(update_fields=["status", "decided_at", "updated_at"])


@transaction.atomic
def review_decide(
    *,
    review_id: int,
    user: User,
    verdict: str,
    scores: Any,
    comment: str = "",
    staff_note: str = "",
) -> Review:
    """Give a verdict on a held review. Accept, reject, ask for a revision (with a comment), or
    (peer level) escalate to an expert. The reviewer is paid for the review."""
    review = review_get_for_reviewer(review_id=review_id, user=user, for_update=True)
    if review.reviewer_id != user.pk:
        raise NotFound(f"Review {review_id} does not exist.")
    if review.status != Review.Status.CLAIMED:
        raise ReviewClosed(f"This review is {review.get_status_display().lower()}.")
    if verdict not in Review.Verdict.values:
        raise InvalidInput(
            fields={"verdict": [f"Choose one of: {', '.join(Review.Verdict.values)}."]}
        )
    quality = quality_settings_for(project=review.project_id)
    submission = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("project", "contributor")
        .get(pk=review.submission_id)
    )
    if verdict == Review.Verdict.ESCALATE and (
        review.level == Review.Level.EXPERT or not quality.expert_review
    ):
        raise InvalidInput(
            fields={"verdict": ["There is no expert level above this review to escalate to."]}
        )
    if review.reason == Review.Reason.APPEAL and verdict not in (
        Review.Verdict.ACCEPT,
        Review.Verdict.REJECT,
    ):
        raise InvalidInput(fields={"verdict": ["An appeal is decided: accept or reject."]})
    clean, problems = _check_scores(scores, quality.rubric)
    if verdict in (Review.Verdict.REVISE, Review.Verdict.REJECT) and not comment.strip():
        problems["comment"] = ["Tell the contributor what to change or why."]
    if problems:
        raise InvalidInput("The verdict needs: " + ", ".join(sorted(problems)), fields=problems)
    review.scores = clean
    review.verdict = verdict
    review.comment = comment.strip()[:5000]
    review.staff_note = staff_note.strip()[:5000]
    review.status = Review.Status.DONE
    review.decided_at = timezone.now()
    review.save()
    if verdict == Review.Verdict.ESCALATE:
        review_open(
            submission=submission, level=Review.Level.EXPERT, reason=Review.Reason.ESCALATED
        )
    else:
        _settle(submission, verdict, review)
        if review.level == Review.Level.EXPERT:
            _expert_overrules(review, verdict)
        elif (
            quality.expert_review
            and verdict != Review.Verdict.REVISE
            and sample_unit("audit", review.pk) < quality.expert_audit_rate
        ):
            review_open(
                submission=submission,
                level=Review.Level.EXPERT,
                reason=Review.Reason.AUDIT,
                audit_of=review,
            )
    earning_record_review(
        reviewer=user,
        project=review.project,
        source_id=str(review.pk),
        minutes=quality.review_minutes,
        multiplier=multiplier_for_user(user=user),
    )
    logger.info("review.decided", extra={"review_id": review.pk, "verdict": verdict})
    return review


def _expert_overrules(review: Review, verdict: str) -> None:
    """An expert's verdict stands over the peer verdicts of the submission: those that said
    otherwise are overturned; an appeal takes the expert's outcome."""
    Review.objects.filter(
        submission_id=review.submission_id,
        level=Review.Level.PEER,
        status=Review.Status.DONE,
        verdict__in=[Review.Verdict.ACCEPT, Review.Verdict.REJECT],
    ).exclude(verdict=verdict).update(overturned=True)
    if review.reason == Review.Reason.APPEAL:
        Appeal.objects.filter(review=review, status=Appeal.Status.OPEN).update(
            status=Appeal.Status.OVERTURNED
            if verdict == Review.Verdict.ACCEPT
            else Appeal.Status.UPHELD,
            decided_at=timezone.now(),
        )


@transaction.atomic
def appeal_create(*, submission_id: int, user: User, reason: str) -> Appeal:
    """Appeal a rejection, once, with a reason; an expert reviewer decides."""
    submission = (
        Submission.objects.select_for_update(of=("self",))
        .filter(pk=submission_id, contributor=user)
        .first()
    )
    if submission is None:
        raise NotFound(f"Submission {submission_id} does not exist.")
    if not reason.strip():
        raise InvalidInput(fields={"reason": ["Say why the rejection is wrong."]})
    if submission.status != Submission.Status.REJECTED:
        raise AppealRefused("Only a rejected submission can be appealed.")
    if Appeal.objects.filter(submission=submission).exists():
        raise AppealRefused("This rejection was appealed already; an appeal is allowed once.")
    review = review_open(
        submission=submission, level=Review.Level.EXPERT, reason=Review.Reason.APPEAL
    )
    if review.reason != Review.Reason.APPEAL:
        # An expert audit was already waiting: it becomes the appeal's review, so the expert
        # sees the contributor's reason and decides both at once.
        review.reason = Review.Reason.APPEAL
        review.save(update_fields=["reason"])
    appeal = Appeal.objects.create(
        submission=submission, reason=reason.strip()[:5000], review=review
    )
    logger.info("appeal.created", extra={"submission_id": submission.pk})
    return appeal


def reviews_expire() -> int:
    """Put reviews whose reviewer's lease ran out back in the queue; returns how many."""
    with transaction.atomic():
        expired = list(
            Review.objects.select_for_update(skip_locked=True)
            .filter(status=Review.Status.CLAIMED, lease_expires_at__lt=timezone.now())
            .values_list("pk", flat=True)
        )
        Review.objects.filter(pk__in=expired).update(
            status=Review.Status.OPEN, reviewer=None, claimed_at=None, lease_expires_at=None
        )
    return len(expired)


def review_release(*, review_id: int, user: User) -> Review:
    """A reviewer hands a review back without a verdict."""
    with transaction.atomic():
        review = review_get_for_reviewer(review_id=review_id, user=user, for_update=True)
        if review.reviewer_id != user.pk or review.status != Review.Status.CLAIMED:
            raise ReviewClosed("You do not hold this review.")
        review.status = Review.Status.OPEN
        review.reviewer = None
        review.claimed_at = None
        review.lease_expires_at = None
        review.save(update_fields=["status", "reviewer", "claimed_at", "lease_expires_at"])
    return review
