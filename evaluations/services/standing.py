"""Quality standings: each contributor's quality per track, and what it does about them.

A track's score blends what is known, each part weighted only when there is enough evidence
for it: gold accuracy (Beta posterior mean over 5+ gold answers, weight 0.5), review results
(verdicts and rubric points of 3+ reviews not overturned, 0.3) and agreement with the
aggregate (majority) answers (10+ answers, 0.2). Without any part the level is "new" and
nothing is done. Otherwise:

    good      score ≥ 0.75
    watch     score < 0.75: the person is warned (once per slide)
    at risk   score < 0.6, or 10+ gold answers whose 90% interval lies below 0.6: paused on the
              track's projects; with 20+ gold answers below 0.5 (upper end), a revocation of the
              track's qualification is proposed to staff, who confirm or dismiss it

The multiplier level follows: exceptional when every track with evidence is good at ≥ 0.9,
strong at ≥ 0.8, standard otherwise. Every action is recorded with why and the evidence.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from common.errors import InvalidInput, NotFound, PermissionDenied
from contributors.models import QualityScore, StandingChange, User
from contributors.selectors import qualifications_live_for_user, standing_at
from contributors.services import qualification_revoke, quality_score_record, standing_set
from evaluations.models import AggregateResult, QualityAction, Review, Submission
from evaluations.selectors import form_schema, quality_settings_of
from evaluations.stats.posterior import beta_posterior
from marketplace.models import Membership, Project
from marketplace.selectors import project_track
from marketplace.services import membership_pause

logger = logging.getLogger(__name__)
WEIGHTS = {"gold": 0.5, "review": 0.3, "agreement": 0.2}
# A part counts only with enough evidence behind it: one wrong gold answer says little.
LEAST = {"gold": 5, "review": 3, "agreement": 10}
GOOD, AT_RISK = 0.75, 0.6
WINDOW = timedelta(days=120)
VERDICT_VALUE = {Review.Verdict.ACCEPT: 1.0, Review.Verdict.REVISE: 0.5, Review.Verdict.REJECT: 0.0}


def _tracks(project_ids: set[int]) -> dict[int, str]:
    projects = Project.objects.filter(pk__in=project_ids).prefetch_related("requirements")
    return {project.pk: project_track(project=project) for project in projects}


def _review_values(user: User, since: Any) -> dict[int, list[float]]:
    """Per project, a value in 0..1 for each review of the person's work that stands."""
    values: dict[int, list[float]] = defaultdict(list)
    reviews = (
        Review.objects.filter(
            author=user, status=Review.Status.DONE, overturned=False, decided_at__gte=since
        )
        .exclude(verdict=Review.Verdict.ESCALATE)
        .select_related("project__quality_settings")
        .order_by("-decided_at")[:300]
    )
    for review in reviews:
        value = VERDICT_VALUE[review.verdict]
        rubric = quality_settings_of(review.project).rubric
        top = sum(item["max"] for item in rubric if item["name"] in review.scores)
        if top:
            value = (value + sum(review.scores.values()) / top) / 2
        values[review.project_id].append(value)
    return values


def _agreement(user: User, since: Any) -> dict[int, tuple[int, int]]:
    """Per project: (answers agreeing with the majority answer, answers compared)."""
    mine = list(
        Submission.objects.filter(contributor=user, is_gold=False, created_at__gte=since)
        .exclude(status=Submission.Status.REJECTED)
        .select_related("form")
        .order_by("-created_at")[:300]
    )
    majority = defaultdict(dict)
    for row in AggregateResult.objects.filter(
        task_id__in=[s.task_id for s in mine],
        method=AggregateResult.Method.MAJORITY,
        value__isnull=False,
    ).values_list("task_id", "question", "value"):
        majority[row[0]][row[1]] = row[2]
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for submission in mine:
        wanted = majority.get(submission.task_id)
        if not wanted:
            continue
        types = {q.name: q.type for q in form_schema(submission.form).questions}
        for name, value in wanted.items():
            answer = submission.answers.get(name)
            if types.get(name) == "preference" and isinstance(answer, dict):
                answer = answer.get("choice")
            if answer is None:
                continue
            counts[submission.project_id][1] += 1
            counts[submission.project_id][0] += int(str(answer) == str(value))
    return {project: (right, total) for project, (right, total) in counts.items()}


def _level(score: float | None, gold_n: int, gold_high: float | None) -> str:
    if score is None:
        return QualityScore.Level.NEW
    if score < AT_RISK or (gold_n >= 10 and gold_high is not None and gold_high < AT_RISK):
        return QualityScore.Level.AT_RISK
    if score < GOOD:
        return QualityScore.Level.WATCH
    return QualityScore.Level.GOOD


def standing_compute(*, user: User) -> list[QualityScore]:
    """Recompute a person's quality in each track they worked in, and act on it."""
    since = timezone.now() - WINDOW
    gold = {
        row["project_id"]: (row["right"], row["n"])
        for row in Submission.objects.filter(
            contributor=user, is_gold=True, gold_correct__isnull=False, created_at__gte=since
        )
        .values("project_id")
        .annotate(n=Count("pk"), right=Count("pk", filter=Q(gold_correct=True)))
    }
    reviews = _review_values(user, since)
    agreement = _agreement(user, since)
    worked = set(
        Submission.objects.filter(contributor=user, created_at__gte=since)
        .values_list("project_id", flat=True)
        .distinct()
    )
    tracks = _tracks(worked | set(gold) | set(reviews) | set(agreement))
    by_track: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"gold": [0, 0], "reviews": [], "agreement": [0, 0], "projects": set()}
    )
    for project_id, track in tracks.items():
        part = by_track[track]
        part["projects"].add(project_id)
        right, n = gold.get(project_id, (0, 0))
        part["gold"][0] += right
        part["gold"][1] += n
        part["reviews"] += reviews.get(project_id, [])
        agree, compared = agreement.get(project_id, (0, 0))
        part["agreement"][0] += agree
        part["agreement"][1] += compared
    scores = []
    for track, part in by_track.items():
        right, n = part["gold"]
        posterior = beta_posterior(right, n) if n else None
        review_mean = sum(part["reviews"]) / len(part["reviews"]) if part["reviews"] else None
        agree, compared = part["agreement"]
        agreement_share = agree / compared if compared else None
        parts = {
            "gold": (posterior.mean if posterior else None, n),
            "review": (review_mean, len(part["reviews"])),
            "agreement": (agreement_share, compared),
        }
        present = {
            name: value
            for name, (value, count) in parts.items()
            if value is not None and count >= LEAST[name]
        }
        score = (
            sum(WEIGHTS[name] * value for name, value in present.items())
            / sum(WEIGHTS[name] for name in present)
            if present
            else None
        )
        level = _level(score, n, posterior.upper if posterior else None)
        previous = QualityScore.objects.filter(user=user, track=track).first()
        record = quality_score_record(
            user=user,
            track=track,
            score=score,
            level=level,
            gold_mean=posterior.mean if posterior else None,
            gold_low=posterior.lower if posterior else None,
            gold_high=posterior.upper if posterior else None,
            gold_answered=n,
            review_mean=review_mean,
            reviews=len(part["reviews"]),
            agreement=agreement_share,
            agreement_answers=compared,
            evidence={
                "gold": {"right": right, "answered": n},
                "reviews": len(part["reviews"]),
                "agreement": {"agreeing": agree, "compared": compared},
                "weights": {name: WEIGHTS[name] for name in present},
                "projects": sorted(part["projects"]),
                "window_days": WINDOW.days,
            },
        )
        _act(user, record, previous.level if previous else QualityScore.Level.NEW, part)
        scores.append(record)
    _set_multiplier(user, scores)
    return scores


def _act(user: User, score: QualityScore, was: str, part: dict[str, Any]) -> None:
    evidence = {"score": score.score, "level": score.level, **score.evidence}
    if score.level == QualityScore.Level.WATCH and was in (
        QualityScore.Level.GOOD,
        QualityScore.Level.NEW,
    ):
        QualityAction.objects.create(
            user=user,
            track=score.track,
            kind=QualityAction.Kind.WARN,
            reason=f"Quality in {score.track} slipped to {score.score:.2f} (below {GOOD}).",
            evidence=evidence,
        )
    if score.level != QualityScore.Level.AT_RISK:
        return
    live = (
        Membership.objects.filter(user=user, left_at__isnull=True, paused_at__isnull=True)
        .select_related("project")
        .prefetch_related("project__requirements")
    )
    in_track = [m.project_id for m in live if project_track(project=m.project) == score.track]
    for project_id in in_track:
        reason = f"Quality in {score.track} is at risk ({score.score:.2f})."
        membership_pause(project_id=project_id, user=user, reason=reason)
        QualityAction.objects.create(
            user=user,
            project_id=project_id,
            track=score.track,
            kind=QualityAction.Kind.PAUSE,
            reason=reason,
            evidence=evidence,
        )
    held = qualifications_live_for_user(user=user).filter(code=score.track).exists()
    if held and score.gold_answered >= 20 and (score.gold_high or 1) < 0.5:
        try:
            with transaction.atomic():
                QualityAction.objects.create(
                    user=user,
                    track=score.track,
                    kind=QualityAction.Kind.REVOKE,
                    status=QualityAction.Status.AWAITING,
                    qualification_code=score.track,
                    reason=(
                        f"Gold accuracy in {score.track} is below 0.5 even at the top of its "
                        f"90% interval ({score.gold_high:.2f}, {score.gold_answered} answers)."
                    ),
                    evidence=evidence,
                )
        except IntegrityError:
            pass  # one is already waiting for staff


def _set_multiplier(user: User, scores: list[QualityScore]) -> None:
    judged = [s for s in scores if s.level != QualityScore.Level.NEW]
    if not judged:
        return
    lowest = min(s.score or 0 for s in judged)
    all_good = all(s.level == QualityScore.Level.GOOD for s in judged)
    wanted = (
        StandingChange.Standing.EXCEPTIONAL
        if all_good and lowest >= 0.9
        else StandingChange.Standing.STRONG
        if all_good and lowest >= 0.8
        else StandingChange.Standing.STANDARD
    )
    if standing_at(user=user) == wanted:
        return
    reason = f"Quality standing: lowest track score {lowest:.2f} over {len(judged)} track(s)."
    standing_set(user=user, standing=wanted, set_by=None, reason=reason)
    QualityAction.objects.create(
        user=user,
        track=",".join(sorted(s.track for s in judged)),
        kind=QualityAction.Kind.STANDING,
        reason=f"{reason} The multiplier level is now {wanted}.",
        evidence={s.track: s.score for s in judged},
    )


def standings_update(*, since: timedelta = WINDOW) -> int:
    """Recompute everyone who worked or was reviewed in the window; returns how many."""
    recent = timezone.now() - since
    people = (
        Submission.objects.filter(Q(created_at__gte=recent) | Q(decided_at__gte=recent))
        .values_list("contributor_id", flat=True)
        .distinct()
    )
    done = 0
    for user in User.objects.filter(pk__in=people).iterator(chunk_size=500):
        with transaction.atomic():
            standing_compute(user=user)
        done += 1
    return done


@transaction.atomic
def quality_action_decide(
    *, action_id: int, actor: User, confirm: bool, note: str = ""
) -> QualityAction:
    """Staff confirm a proposed revocation (the qualification is revoked) or dismiss it."""
    if not actor.has_perm("contributors.change_contributor_status"):
        raise PermissionDenied("Only staff decide on quality actions.")
    action = QualityAction.objects.select_for_update().filter(pk=action_id).first()
    if action is None:
        raise NotFound(f"Quality action {action_id} does not exist.")
    if action.status != QualityAction.Status.AWAITING:
        raise InvalidInput(fields={"status": ["This action is not waiting for a decision."]})
    if confirm:
        qualification = (
            qualifications_live_for_user(user=action.user)
            .filter(code=action.qualification_code)
            .first()
        )
        if qualification is not None:
            qualification_revoke(
                qualification_id=qualification.pk,
                revoked_by=actor,
                reason=f"{action.reason} {note}".strip(),
            )
        action.status = QualityAction.Status.DONE
    else:
        action.status = QualityAction.Status.DISMISSED
    action.decided_by = actor
    action.decided_at = timezone.now()
    if note.strip():
        action.evidence = {**action.evidence, "staff_note": note.strip()}
    action.save(update_fields=["status", "decided_by", "decided_at", "evidence"])
    logger.info("quality_action.decided", extra={"action_id": action.pk, "confirm": confirm})
    return action
