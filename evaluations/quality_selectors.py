"""Reads of the quality layer, scoped to who asks: reviewers' queue and reviews, a contributor's
own feedback, staff's view of a project's quality."""

from __future__ import annotations

from datetime import timedelta
from statistics import median
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone

from common.errors import NotFound
from contributors.models import QualityScore, User
from evaluations.models import (
    EXPERT_PERMISSION,
    PEER_PERMISSION,
    AggregationRun,
    Appeal,
    Assignment,
    QualityAction,
    Review,
    Submission,
    Task,
)
from evaluations.selectors import quality_settings_of, task_view
from evaluations.stats.posterior import beta_posteriors
from marketplace.models import Membership, Project
from marketplace.selectors import project_track, projects_eligible_for

MANAGE = "marketplace.change_project"


def is_reviewer(user: User) -> bool:
    return user.is_authenticated and user.has_perm(PEER_PERMISSION)


def is_expert(user: User) -> bool:
    return user.is_authenticated and user.has_perm(EXPERT_PERMISSION)


def review_queue_for(*, user: User) -> list[dict[str, Any]]:
    """Waiting reviews this person may take, counted per project and level, oldest first.

    Nobody but reviewers has a queue: what waits for review is none of anyone else's business.
    """
    if not is_reviewer(user):
        return []
    levels = [Review.Level.PEER] + ([Review.Level.EXPERT] if is_expert(user) else [])
    worked = Assignment.objects.filter(contributor=user).values("task")
    rows = (
        Review.objects.filter(
            status=Review.Status.OPEN,
            level__in=levels,
            project__in=projects_eligible_for(user=user),
        )
        .exclude(author=user)
        .exclude(submission__task__in=worked)
        .values("project_id", "project__title", "level")
        .annotate(waiting=Count("pk"), oldest=Min("created_at"))
        .order_by("oldest")
    )
    now = timezone.now()
    return [
        {
            "project": row["project_id"],
            "title": row["project__title"],
            "level": row["level"],
            "waiting": row["waiting"],
            "oldest_hours": round((now - row["oldest"]).total_seconds() / 3600, 1),
        }
        for row in rows
    ]


def review_view(*, review: Review, viewer: User) -> dict[str, Any]:
    """What a reviewer sees: the task as the contributor saw it, their answers, the checks'
    flags, the rubric, and for experts the earlier verdicts with staff notes. Blind: never who
    did the work."""
    submission = review.submission
    assignment = Assignment.objects.select_related("task").get(pk=submission.assignment_id)
    quality = quality_settings_of(review.project)
    earlier = []
    if is_expert(viewer) or viewer.has_perm(MANAGE):
        earlier = [
            {
                "id": other.pk,
                "level": other.level,
                "reason": other.reason,
                "verdict": other.verdict,
                "scores": other.scores,
                "comment": other.comment,
                "staff_note": other.staff_note,
                "overturned": other.overturned,
                "decided_at": other.decided_at,
            }
            for other in submission.reviews.filter(status=Review.Status.DONE).exclude(pk=review.pk)
        ]
    appeal = Appeal.objects.filter(submission=submission).first()
    return {
        "id": review.pk,
        "level": review.level,
        "reason": review.reason,
        "reason_label": review.get_reason_display(),
        "status": review.status,
        "project": {"id": review.project_id, "title": review.project.title},
        "lease_expires_at": review.lease_expires_at,
        "rubric": quality.rubric,
        "form": submission.form.schema,
        "task": task_view(assignment=assignment),
        "submission": {
            "id": submission.pk,
            "status": submission.status,
            "answers": submission.answers,
            "active_seconds": submission.active_seconds,
            "flags": submission.flags,
            "created_at": submission.created_at,
        },
        "earlier_reviews": earlier,
        "appeal_reason": appeal.reason if appeal and review.reason == Review.Reason.APPEAL else "",
        "verdicts": [
            choice
            for choice in Review.Verdict.values
            if not (
                choice == Review.Verdict.ESCALATE
                and (review.level == Review.Level.EXPERT or not quality.expert_review)
            )
            and not (
                review.reason == Review.Reason.APPEAL
                and choice in (Review.Verdict.REVISE, Review.Verdict.ESCALATE)
            )
        ],
    }


def submission_for_owner(*, submission_id: int, user: User) -> Submission:
    submission = (
        Submission.objects.select_related("project", "task", "form", "assignment")
        .filter(pk=submission_id, contributor=user)
        .first()
    )
    if submission is None:
        raise NotFound(f"Submission {submission_id} does not exist.")
    return submission


def feedback_for(*, submission: Submission) -> dict[str, Any]:
    """What the contributor sees of their submission's review: verdicts and comments (never
    who reviewed, never staff notes, never whether the task was gold)."""
    reviews = [
        {
            "level": review.level,
            "verdict": review.verdict,
            "verdict_label": review.get_verdict_display(),
            "scores": review.scores,
            "comment": review.comment,
            "decided_at": review.decided_at,
        }
        for review in submission.reviews.filter(status=Review.Status.DONE)
        .exclude(verdict=Review.Verdict.ESCALATE)
        .order_by("decided_at")
    ]
    appeal = Appeal.objects.filter(submission=submission).first()
    return {
        "status": submission.status,
        "status_label": submission.get_status_display(),
        "reviews": reviews,
        "appeal": {"status": appeal.status, "reason": appeal.reason} if appeal else None,
        "can_appeal": submission.status == Submission.Status.REJECTED and appeal is None,
        "can_resubmit": submission.status == Submission.Status.REVISION,
    }


def quality_of(*, user: User) -> dict[str, Any]:
    """A contributor's own quality: per track score and gold accuracy with its 90% interval,
    recent verdicts with comments, and what was done about them."""
    scores = list(QualityScore.objects.filter(user=user).order_by("track"))
    recent = (
        Review.objects.filter(author=user, status=Review.Status.DONE)
        .exclude(verdict=Review.Verdict.ESCALATE)
        .select_related("submission", "project")
        .order_by("-decided_at")[:20]
    )
    actions = QualityAction.objects.filter(user=user).exclude(status=QualityAction.Status.AWAITING)[
        :20
    ]
    return {
        "scores": [
            {
                "track": score.track,
                "score": score.score,
                "level": score.level,
                "level_label": score.get_level_display(),
                "gold": None
                if not score.gold_answered
                else {
                    "mean": score.gold_mean,
                    "low": score.gold_low,
                    "high": score.gold_high,
                    "answered": score.gold_answered,
                },
                "review_mean": score.review_mean,
                "reviews": score.reviews,
                "agreement": score.agreement,
                "agreement_answers": score.agreement_answers,
                "computed_at": score.computed_at,
            }
            for score in scores
        ],
        "verdicts": [
            {
                "submission": review.submission_id,
                "project": review.project.title,
                "verdict": review.verdict,
                "verdict_label": review.get_verdict_display(),
                "comment": review.comment,
                "decided_at": review.decided_at,
                "can_appeal": review.submission.status == Submission.Status.REJECTED
                and not Appeal.objects.filter(submission_id=review.submission_id).exists(),
            }
            for review in recent
        ],
        "actions": [
            {
                "kind": action.kind,
                "kind_label": action.get_kind_display(),
                "reason": action.reason,
                "created_at": action.created_at,
            }
            for action in actions
        ],
    }


def gold_difficulty(*, project: Project) -> list[dict[str, Any]]:
    """Each gold task: how often shown, answered right, and whether it is retired."""
    golds = (
        Task.objects.filter(project=project, is_gold=True)
        .annotate(
            answered=Count("submissions", filter=Q(submissions__gold_correct__isnull=False)),
            right=Count("submissions", filter=Q(submissions__gold_correct=True)),
        )
        .order_by("pk")
    )
    return [
        {
            "task": gold.pk,
            "external_id": gold.external_id,
            "shown": gold.filled,
            "answered": gold.answered,
            "right_share": round(gold.right / gold.answered, 3) if gold.answered else None,
            "retired": gold.filled >= gold.overlap,
        }
        for gold in golds
    ]


def gold_accuracy(*, project: Project) -> list[dict[str, Any]]:
    """Each contributor's gold accuracy on the project: Beta posterior mean and 90% interval."""
    rows = list(
        Submission.objects.filter(project=project, is_gold=True, gold_correct__isnull=False)
        .values("contributor_id", "contributor__full_name")
        .annotate(n=Count("pk"), right=Count("pk", filter=Q(gold_correct=True)))
        .order_by("contributor_id")
    )
    if not rows:
        return []
    posterior = beta_posteriors([r["right"] for r in rows], [r["n"] for r in rows])
    return [
        {
            "contributor": row["contributor_id"],
            "name": row["contributor__full_name"],
            "answered": row["n"],
            "right": row["right"],
            "mean": round(float(posterior.mean[i]), 3),
            "low": round(float(posterior.lower[i]), 3),
            "high": round(float(posterior.upper[i]), 3),
        }
        for i, row in enumerate(rows)
    ]


def review_backlog(*, project: Project, days: int = 14) -> dict[str, Any]:
    """Open reviews now by level with their ages, and per day of the last `days`: how many
    were open at the end of the day and the median age of those."""
    now = timezone.now()
    waiting = list(
        Review.objects.filter(
            project=project, status__in=[Review.Status.OPEN, Review.Status.CLAIMED]
        ).values_list("level", "created_at")
    )
    by_level: dict[str, list[float]] = {}
    for level, created in waiting:
        by_level.setdefault(level, []).append((now - created).total_seconds() / 3600)
    history = []
    start = now - timedelta(days=days)
    spans = list(
        Review.objects.filter(project=project, created_at__lte=now)
        .filter(Q(decided_at__isnull=True) | Q(decided_at__gte=start))
        .exclude(status=Review.Status.CANCELLED, decided_at__isnull=True)
        .values_list("created_at", "decided_at")
    )
    for day in range(days, -1, -1):
        at = now - timedelta(days=day)
        ages = [
            (at - created).total_seconds() / 3600
            for created, decided in spans
            if created <= at and (decided is None or decided > at)
        ]
        history.append(
            {
                "day": at.date(),
                "open": len(ages),
                "median_age_hours": round(median(ages), 1) if ages else 0,
            }
        )
    return {
        "levels": [
            {
                "level": level,
                "open": len(ages),
                "median_age_hours": round(median(ages), 1),
                "oldest_hours": round(max(ages), 1),
            }
            for level, ages in sorted(by_level.items())
        ],
        "history": history,
    }


def at_risk(*, project: Project) -> list[dict[str, Any]]:
    """The project's members whose quality in its track is on watch or at risk."""
    track = project_track(project=project)
    members = Membership.objects.filter(project=project, left_at__isnull=True).values(
        "user_id", "paused_at"
    )
    paused = {m["user_id"]: m["paused_at"] for m in members}
    scores = (
        QualityScore.objects.filter(
            user_id__in=list(paused),
            track=track,
            level__in=[QualityScore.Level.WATCH, QualityScore.Level.AT_RISK],
        )
        .select_related("user")
        .order_by("score")
    )
    return [
        {
            "contributor": score.user_id,
            "name": score.user.full_name,
            "level": score.level,
            "score": score.score,
            "gold_mean": score.gold_mean,
            "gold_high": score.gold_high,
            "reviews": score.reviews,
            "paused": paused.get(score.user_id) is not None,
        }
        for score in scores
    ]


def reviewer_audits(*, project: Project) -> list[dict[str, Any]]:
    """Each peer reviewer of the project: verdicts given, how many an expert checked again,
    and how many of those the expert overturned."""
    rows = (
        Review.objects.filter(project=project, level=Review.Level.PEER, status=Review.Status.DONE)
        .values("reviewer_id", "reviewer__full_name")
        .annotate(
            verdicts=Count("pk"),
            audited=Count("audits", filter=Q(audits__status=Review.Status.DONE), distinct=True),
            overturned=Count("pk", filter=Q(overturned=True), distinct=True),
        )
        .order_by("-overturned", "-verdicts")
    )
    return [
        {
            "reviewer": row["reviewer_id"],
            "name": row["reviewer__full_name"],
            "verdicts": row["verdicts"],
            "audited": row["audited"],
            "overturned": row["overturned"],
        }
        for row in rows
    ]


def latest_summary(*, project: Project) -> dict[str, Any]:
    """The summary of the project's latest finished aggregation ({} before the first)."""
    run = (
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.DONE)
        .order_by("-finished_at")
        .only("summary")
        .first()
    )
    return run.summary if run else {}


def project_quality(*, project: Project) -> dict[str, Any]:
    """The staff view of a project's quality."""
    run = (
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.DONE)
        .order_by("-finished_at")
        .first()
    )
    live = AggregationRun.objects.filter(
        project=project,
        status__in=[AggregationRun.Status.QUEUED, AggregationRun.Status.RUNNING],
    ).first()
    counts = Submission.objects.filter(project=project).aggregate(
        total=Count("pk"),
        in_review=Count("pk", filter=Q(status=Submission.Status.IN_REVIEW)),
        revision=Count("pk", filter=Q(status=Submission.Status.REVISION)),
        rejected=Count("pk", filter=Q(status=Submission.Status.REJECTED)),
        flagged=Count("pk", filter=~Q(flags=[])),
    )
    return {
        "track": project_track(project=project),
        "submissions": counts,
        "aggregation": None
        if run is None
        else {
            "id": run.pk,
            "finished_at": run.finished_at,
            "submissions_seen": run.submissions_seen,
            "summary": run.summary,
        },
        "aggregation_running": live.pk if live else None,
        "gold": gold_difficulty(project=project),
        "gold_accuracy": gold_accuracy(project=project),
        "backlog": review_backlog(project=project),
        "at_risk": at_risk(project=project),
        "reviewers": reviewer_audits(project=project),
        "actions_awaiting": [
            {
                "id": action.pk,
                "contributor": action.user_id,
                "name": action.user.full_name,
                "qualification": action.qualification_code,
                "reason": action.reason,
                "created_at": action.created_at,
            }
            for action in QualityAction.objects.filter(
                status=QualityAction.Status.AWAITING, track=project_track(project=project)
            ).select_related("user")
        ],
    }


STRENGTH = {1: "slightly", 2: "clearly", 3: "much"}


def answers_in_words(
    *, form: Any, answers: dict[str, Any], letters: dict[str, str]
) -> list[dict[str, str]]:
    """A submission's answers as a reader would say them, with responses by the letters the
    contributor saw (so "A is better because…" in a rationale matches)."""

    def letter(rid: Any) -> str:
        return letters.get(str(rid), str(rid))

    out = []
    for question in form.questions:
        answer = answers.get(question.name)
        if answer in (None, "", [], {}):
            text = "—"
        elif question.type == "rating" and isinstance(answer, dict):
            text = ", ".join(
                f"{letter(rid)}: {value}"
                for rid, value in sorted(answer.items(), key=lambda i: letter(i[0]))
            )
        elif question.type == "preference" and isinstance(answer, dict):
            if answer.get("choice") == "tie":
                text = "About the same"
            else:
                how = STRENGTH.get(answer.get("strength"), "")
                text = f"Response {letter(answer.get('choice'))}" + (
                    f", {how} better" if how else ""
                )
        elif question.type == "ranking" and isinstance(answer, list):
            text = " > ".join(letter(rid) for rid in answer)
        elif question.type == "multi_label" and isinstance(answer, list):
            text = ", ".join(str(label) for label in answer)
        elif question.type == "spans" and isinstance(answer, list):
            text = "; ".join(
                f"{letter(span.get('response'))} {span.get('start')}–{span.get('end')}: "
                f"{span.get('label')}"
                for span in answer
            )
        elif question.type == "code_review" and isinstance(answer, list):
            text = "; ".join(
                f"line {item.get('line')} ({item.get('severity')}): {item.get('comment')}"
                for item in answer
            )
        else:
            text = str(answer)
        out.append({"name": question.name, "prompt": question.prompt, "text": text})
    return out
