"""Review layers: which submissions are reviewed, who may review them, verdicts and revisions,
expert escalations, audits and appeals, disagreement, and what each verdict does to pay."""

import math
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from common.errors import InvalidInput, NotFound
from contributors.models import QualityScore
from contributors.services import standing_set
from evaluations import services
from evaluations.errors import (
    AppealRefused,
    AssignmentClosed,
    NoReviewAvailable,
    NotReviewer,
    OwnWork,
    ReviewClosed,
)
from evaluations.models import Appeal, Review, Submission, Task
from evaluations.services.reviews import sample_unit
from marketplace import services as marketplace
from marketplace.models import EarningEntry
from tests.contributors.factories import UserFactory
from tests.evaluations.helpers import good_answers, project_with_tasks, worker
from tests.evaluations.quality_helpers import do_task, reviewer, rubric_scores
from tests.marketplace.helpers import qualified, staff

pytestmark = pytest.mark.django_db

LABEL_FORM = {
    "questions": [
        {
            "name": "verdict",
            "type": "single_label",
            "prompt": "Is the answer right?",
            "labels": ["yes", "no"],
        }
    ]
}
TASK_PRICE = Decimal("3.00")  # 30 an hour × 6 minutes
REVIEW_PAY = Decimal("2.00")  # 30 an hour × the default 4 minutes per review


@pytest.fixture
def boss():
    return staff()


def review_project(boss, count: int = 3, *, overlap: int = 1, form=None, **quality):
    """A per-task project (3.00 a task) with peer review on and the given quality rules."""
    project = project_with_tasks(
        count,
        overlap=overlap,
        form=form,
        actor=boss,
        pay_model="per_task",
        task_minutes=6,
        pay_rate=Decimal("30"),
    )
    services.quality_settings_set(
        project_id=project.pk, actor=boss, **{"peer_review": True, **quality}
    )
    return project


def task_entry(submission: Submission, suffix: str = "") -> EarningEntry:
    return EarningEntry.objects.get(idempotency_key=f"task:submission:{submission.pk}{suffix}")


def decide(review: Review, user, verdict: str, comment: str = "") -> Review:
    return services.review_decide(
        review_id=review.pk, user=user, verdict=verdict, scores=rubric_scores(), comment=comment
    )


# --- which submissions are reviewed ----------------------------------------------------------


def test_every_one_of_a_persons_first_n_submissions_is_reviewed(boss) -> None:
    project = review_project(boss, 5, review_first_n=3, review_rate=0)
    person = worker(project)
    done = [do_task(project, person) for _ in range(5)]
    assert [s.status for s in done] == ["in_review"] * 3 + ["accepted"] * 2
    assert list(Review.objects.values_list("submission_id", "reason", "level")) == [
        (s.pk, "first", "peer") for s in done[:3]
    ]


def test_nothing_is_reviewed_while_review_is_off(boss) -> None:
    project = review_project(boss, 2, peer_review=False)
    assert do_task(project).status == Submission.Status.ACCEPTED
    assert not Review.objects.exists()


SAMPLED = 160


def label_project_for_sampling(boss):
    """A one-label form on an hourly project: the cheapest submissions, many of them."""
    project = project_with_tasks(SAMPLED + 2, form=LABEL_FORM, actor=boss)
    services.quality_settings_set(
        project_id=project.pk,
        actor=boss,
        peer_review=True,
        review_first_n=2,
        review_rate=0.4,
        duplicate_action="off",
        contradiction_action="off",
    )
    return project


def sampled_share(project, person) -> tuple[list[int], list[int]]:
    """Do every task of the project; return the later submissions and those reviewed."""
    done = [do_task(project, person, {"verdict": "yes"}) for _ in range(SAMPLED + 2)]
    later = [s.pk for s in done[2:]]
    reviewed = sorted(
        Review.objects.filter(submission_id__in=later, reason="sampled").values_list(
            "submission_id", flat=True
        )
    )
    return later, reviewed


def binomial_bounds(n: int, p: float, sigmas: float = 4.5) -> tuple[float, float]:
    spread = sigmas * math.sqrt(n * p * (1 - p))
    return n * p - spread, n * p + spread


def test_after_the_first_n_the_share_reviewed_matches_the_review_rate(boss) -> None:
    # The draw is a keyed hash of the submission (uniform on [0, 1)), so the number reviewed
    # of 160 is Binomial(160, 0.4): mean 64, standard deviation 6.2; ±4.5 of them holds with
    # probability 1 − 7·10⁻⁶. The same submissions give the same draw every time, and exactly
    # those whose draw is under the rate are reviewed.
    project = label_project_for_sampling(boss)
    later, reviewed = sampled_share(project, worker(project))
    low, high = binomial_bounds(SAMPLED, 0.4)
    assert low <= len(reviewed) <= high
    assert reviewed == sorted(pk for pk in later if sample_unit("review", pk) < 0.4)


def test_a_strong_standing_halves_the_review_rate(boss) -> None:
    project = label_project_for_sampling(boss)
    person = worker(project)
    standing_set(user=person, standing="strong", set_by=None, reason="Reliable work.")
    later, reviewed = sampled_share(project, person)
    low, high = binomial_bounds(SAMPLED, 0.2)
    # Binomial(160, 0.2): mean 32, standard deviation 5.1, so 9 to 55; at the full rate of
    # 0.4 the count would be about 64.
    assert low <= len(reviewed) <= high
    assert reviewed == sorted(pk for pk in later if sample_unit("review", pk) < 0.2)


def test_a_person_on_watch_has_the_review_rate_doubled(boss) -> None:
    # 0.5 doubled is 1: every submission after the first N is reviewed.
    project = review_project(
        boss, 8, form=LABEL_FORM, review_first_n=2, review_rate=0.5, duplicate_action="off"
    )
    person = worker(project)
    QualityScore.objects.create(user=person, track="general", score=0.7, level="watch")
    done = [do_task(project, person, {"verdict": "yes"}) for _ in range(8)]
    reasons = [review.reason for submission in done for review in submission.reviews.all()]
    assert reasons == ["first", "first", *["sampled"] * 6]


def test_a_flagged_submission_is_reviewed_even_past_the_first_n(boss) -> None:
    project = review_project(boss, 2, review_first_n=0, review_rate=0)
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)
    contradictory = {
        **good_answers(assignment.task),
        "helpfulness": {"a": 1, "b": 7},
        "better": {"choice": "a", "strength": 3},
    }
    submission = services.submission_submit(
        assignment_id=assignment.pk, user=person, answers=contradictory
    )
    assert submission.status == Submission.Status.IN_REVIEW
    assert Review.objects.get(submission=submission).reason == Review.Reason.FLAGGED


# --- who may review -------------------------------------------------------------------------


def reviewing_worker(project):
    """A reviewer who also works on the project."""
    person = reviewer()
    marketplace.membership_join(project_id=project.pk, user=person)
    return person


def test_nobody_claims_a_review_of_their_own_work(boss) -> None:
    project = review_project(boss, 2)
    person = reviewing_worker(project)
    own = Review.objects.get(submission=do_task(project, person))

    with pytest.raises(OwnWork) as refused:
        services.review_claim(review_id=own.pk, user=person)

    assert (refused.value.http_status, refused.value.code) == (403, "own_work")
    with pytest.raises(NoReviewAvailable):
        services.review_next(user=person)
    own.refresh_from_db()
    assert (own.status, own.reviewer_id) == (Review.Status.OPEN, None)


def test_the_next_review_skips_ones_own_work_for_someone_elses(boss) -> None:
    project = review_project(boss, 2)
    person = reviewing_worker(project)
    do_task(project, person)
    other = do_task(project)
    assert services.review_next(user=person).submission_id == other.pk


def test_nobody_reviews_a_task_they_worked_on(boss) -> None:
    project = review_project(boss, 1, overlap=2)
    person = reviewing_worker(project)
    mine = services.assignment_next(project_id=project.pk, user=person)
    services.assignment_skip(assignment_id=mine.pk, user=person, reason="Not my field.")
    review = Review.objects.get(submission=do_task(project))

    with pytest.raises(OwnWork):
        services.review_claim(review_id=review.pk, user=person)
    with pytest.raises(NoReviewAvailable):
        services.review_next(user=person)


def test_a_reviewer_without_the_projects_track_is_refused(boss) -> None:
    project = project_with_tasks(
        1,
        actor=boss,
        tier="coding",
        pay_rate=Decimal("40"),
        requires_all=["general", "programming:python"],
    )
    services.quality_settings_set(project_id=project.pk, actor=boss, peer_review=True)
    coder = qualified("general", "programming:python")
    marketplace.membership_join(project_id=project.pk, user=coder)
    review = Review.objects.get(submission=do_task(project, coder))
    generalist = reviewer("general")

    with pytest.raises(NotReviewer, match="do not qualify for this project's track"):
        services.review_claim(review_id=review.pk, user=generalist)
    with pytest.raises(NoReviewAvailable):
        services.review_next(user=generalist)
    assert (
        services.review_claim(
            review_id=review.pk, user=reviewer("general", "programming:python")
        ).status
        == Review.Status.CLAIMED
    )


def test_a_contributor_without_the_reviewer_role_cannot_review(boss) -> None:
    project = review_project(boss, 1)
    review = Review.objects.get(submission=do_task(project))
    outsider = qualified("general")

    with pytest.raises(NotReviewer) as refused:
        services.review_next(user=outsider)
    assert (refused.value.http_status, refused.value.code) == (403, "not_a_reviewer")
    with pytest.raises(NotReviewer):
        services.review_claim(review_id=review.pk, user=outsider)


def test_a_review_whose_lease_ran_out_goes_back_to_the_queue(boss) -> None:
    project = review_project(boss, 1)
    do_task(project)
    slow, quick = reviewer(), reviewer()
    review = services.review_next(user=slow)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert services.reviews_expire() == 1
        assert services.review_next(user=quick).pk == review.pk
    with pytest.raises(NotFound):
        decide(review, slow, "accept")


def test_a_peer_reviewer_does_not_take_expert_reviews(boss) -> None:
    with pytest.raises(NotReviewer, match="Only expert reviewers"):
        services.review_next(user=reviewer(), level="expert")


# --- verdicts -------------------------------------------------------------------------------


def test_a_verdict_on_a_decided_review_is_refused(boss) -> None:
    project = review_project(boss, 1)
    do_task(project)
    peer = reviewer()
    review = decide(services.review_next(user=peer), peer, "accept")

    with pytest.raises(ReviewClosed) as refused:
        decide(review, peer, "reject", comment="Changed my mind.")

    assert (refused.value.http_status, refused.value.code) == (409, "review_closed")
    assert Submission.objects.get().status == Submission.Status.ACCEPTED


@pytest.mark.parametrize("verdict", ["revise", "reject"])
def test_asking_for_a_revision_or_rejecting_needs_a_comment(boss, verdict) -> None:
    project = review_project(boss, 1)
    do_task(project)
    peer = reviewer()
    review = services.review_next(user=peer)

    with pytest.raises(InvalidInput) as refused:
        decide(review, peer, verdict, comment="  ")

    assert refused.value.http_status == 400
    assert list(refused.value.fields) == ["comment"]
    review.refresh_from_db()
    assert (review.status, review.verdict) == (Review.Status.CLAIMED, "")
    assert Submission.objects.get().status == Submission.Status.IN_REVIEW


def test_scores_must_cover_the_rubric(boss) -> None:
    project = review_project(boss, 1)
    do_task(project)
    peer = reviewer()
    review = services.review_next(user=peer)
    with pytest.raises(InvalidInput) as refused:
        services.review_decide(
            review_id=review.pk, user=peer, verdict="accept", scores={"accuracy": 9, "extra": 1}
        )
    assert sorted(refused.value.fields) == ["scores.accuracy", "scores.extra", "scores.rationale"]


def test_a_revision_goes_back_to_review_and_can_then_be_accepted(boss) -> None:
    project = review_project(boss, 1)
    submission = do_task(project)
    peer = reviewer()
    decide(services.review_next(user=peer), peer, "revise", comment="Explain the rating of B.")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REVISION

    task = Task.objects.get()
    revised = {**good_answers(task), "rationale": "B is vague: it never names the statute."}
    services.submission_resubmit(
        submission_id=submission.pk, user=submission.contributor, answers=revised
    )

    submission.refresh_from_db()
    assert submission.status == Submission.Status.IN_REVIEW
    assert submission.answers["rationale"] == "B is vague: it never names the statute."
    second = Review.objects.get(submission=submission, status=Review.Status.OPEN)
    assert (second.level, second.reason) == ("peer", "revised")

    decide(services.review_next(user=peer), peer, "accept")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.ACCEPTED
    assert task_entry(submission).state == EarningEntry.State.PENDING
    assert EarningEntry.objects.filter(contributor=peer, kind="review").count() == 2


def test_only_a_submission_sent_back_for_revision_can_be_resubmitted(boss) -> None:
    project = review_project(boss, 1)
    submission = do_task(project)
    with pytest.raises(AssignmentClosed):
        services.submission_resubmit(
            submission_id=submission.pk,
            user=submission.contributor,
            answers=good_answers(Task.objects.get()),
        )


def test_a_rejection_reverses_the_pending_task_earning(boss) -> None:
    project = review_project(boss, 1)
    submission = do_task(project)
    assert (task_entry(submission).state, task_entry(submission).amount) == ("pending", TASK_PRICE)
    peer = reviewer()

    decide(services.review_next(user=peer), peer, "reject", comment="Both ratings are wrong.")

    submission.refresh_from_db()
    entry = task_entry(submission)
    assert submission.status == Submission.Status.REJECTED
    assert entry.state == EarningEntry.State.REVERSED
    reversal = EarningEntry.objects.get(reverses=entry)
    assert (reversal.kind, reversal.amount, reversal.state) == ("reversal", -TASK_PRICE, "reversed")


def test_a_rejection_reverses_an_already_approved_task_earning(boss) -> None:
    project = review_project(boss, 1)
    submission = do_task(project)
    marketplace.earnings_approve(
        entry_ids=[task_entry(submission).pk],
        actor=UserFactory(roles=("finance_admin",), is_staff=True),
    )
    assert task_entry(submission).state == EarningEntry.State.APPROVED
    peer = reviewer()

    decide(services.review_next(user=peer), peer, "reject", comment="Both ratings are wrong.")

    entry = task_entry(submission)
    assert entry.state == EarningEntry.State.REVERSED
    assert EarningEntry.objects.get(reverses=entry).amount == -TASK_PRICE


def test_a_rejection_claws_back_an_already_paid_task_earning(boss) -> None:
    project = review_project(boss, 1)
    submission = do_task(project)
    entry = EarningEntry.objects.filter(pk=task_entry(submission).pk)
    # States only move forward (a trigger on PostgreSQL): approved, then paid by a payout.
    entry.update(state="approved", approved_at=timezone.now())
    entry.update(state="paid", paid_at=timezone.now())
    peer = reviewer()

    decide(services.review_next(user=peer), peer, "reject", comment="Both ratings are wrong.")

    entry = task_entry(submission)
    assert entry.state == EarningEntry.State.PAID
    clawback = EarningEntry.objects.get(reverses=entry)
    assert (clawback.amount, clawback.state) == (-TASK_PRICE, "approved")


def test_the_reviewer_is_paid_once_for_a_review(boss) -> None:
    project = review_project(boss, 1)
    do_task(project)
    peer = reviewer()
    review = decide(services.review_next(user=peer), peer, "accept")
    with pytest.raises(ReviewClosed):
        decide(review, peer, "accept")

    pay = EarningEntry.objects.get(contributor=peer)
    assert (pay.kind, pay.amount, pay.state, pay.source_id) == (
        "review",
        REVIEW_PAY,
        "pending",
        str(review.pk),
    )


# --- experts --------------------------------------------------------------------------------


def test_escalating_opens_an_expert_review(boss) -> None:
    project = review_project(boss, 1, expert_review=True, expert_audit_rate=0)
    submission = do_task(project)
    peer = reviewer()
    decide(services.review_next(user=peer), peer, "escalate")

    expert_review = Review.objects.get(level="expert")
    assert (expert_review.reason, expert_review.status) == ("escalated", "open")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.IN_REVIEW

    expert = reviewer(expert=True)
    assert services.review_next(user=expert, level="expert").pk == expert_review.pk


def test_there_is_no_escalation_without_an_expert_level(boss) -> None:
    project = review_project(boss, 1)
    do_task(project)
    peer = reviewer()
    with pytest.raises(InvalidInput) as refused:
        decide(services.review_next(user=peer), peer, "escalate")
    assert list(refused.value.fields) == ["verdict"]


def test_an_expert_audit_that_decides_otherwise_overturns_the_peer_verdict(boss) -> None:
    project = review_project(boss, 1, expert_review=True, expert_audit_rate=1.0)
    submission = do_task(project)
    peer = reviewer()
    peer_review = decide(services.review_next(user=peer), peer, "accept")
    audit = Review.objects.get(level="expert")
    assert (audit.reason, audit.audit_of_id) == ("audit", peer_review.pk)

    expert = reviewer(expert=True)
    decide(services.review_next(user=expert, level="expert"), expert, "reject", "B is right.")

    peer_review.refresh_from_db()
    submission.refresh_from_db()
    assert peer_review.overturned is True
    assert submission.status == Submission.Status.REJECTED
    assert task_entry(submission).state == EarningEntry.State.REVERSED


def test_an_expert_audit_that_agrees_leaves_the_peer_verdict_standing(boss) -> None:
    project = review_project(boss, 1, expert_review=True, expert_audit_rate=1.0)
    submission = do_task(project)
    peer = reviewer()
    peer_review = decide(services.review_next(user=peer), peer, "accept")
    expert = reviewer(expert=True)
    decide(services.review_next(user=expert, level="expert"), expert, "accept")

    peer_review.refresh_from_db()
    submission.refresh_from_db()
    assert peer_review.overturned is False
    assert submission.status == Submission.Status.ACCEPTED


def rejected_submission(boss, **quality) -> Submission:
    project = review_project(boss, 1, expert_review=True, **{"expert_audit_rate": 0, **quality})
    submission = do_task(project)
    peer = reviewer()
    decide(services.review_next(user=peer), peer, "reject", comment="The ratings are wrong.")
    submission.refresh_from_db()
    return submission


def test_only_a_rejected_submission_can_be_appealed(boss) -> None:
    project = review_project(boss, 1, review_first_n=0, review_rate=0)
    submission = do_task(project)
    with pytest.raises(AppealRefused) as refused:
        services.appeal_create(
            submission_id=submission.pk, user=submission.contributor, reason="It was right."
        )
    assert (refused.value.http_status, refused.value.code) == (409, "appeal_refused")
    assert not Appeal.objects.exists()


def test_a_rejection_is_appealed_once(boss) -> None:
    submission = rejected_submission(boss)
    appeal = services.appeal_create(
        submission_id=submission.pk, user=submission.contributor, reason="It was right."
    )
    assert (appeal.status, appeal.review.level, appeal.review.reason) == (
        "open",
        "expert",
        "appeal",
    )
    with pytest.raises(AppealRefused, match="allowed once"):
        services.appeal_create(
            submission_id=submission.pk, user=submission.contributor, reason="Really."
        )
    assert Appeal.objects.count() == 1


def test_an_appeal_needs_a_reason(boss) -> None:
    submission = rejected_submission(boss)
    with pytest.raises(InvalidInput):
        services.appeal_create(submission_id=submission.pk, user=submission.contributor, reason="")


def test_an_upheld_appeal_accepts_the_submission_and_pays_it_again(boss) -> None:
    submission = rejected_submission(boss)
    appeal = services.appeal_create(
        submission_id=submission.pk, user=submission.contributor, reason="The law changed."
    )
    expert = reviewer(expert=True)

    decide(services.review_next(user=expert, level="expert"), expert, "accept")

    appeal.refresh_from_db()
    submission.refresh_from_db()
    assert appeal.status == Appeal.Status.OVERTURNED
    assert appeal.decided_at is not None
    assert submission.status == Submission.Status.ACCEPTED
    assert task_entry(submission).state == EarningEntry.State.REVERSED
    again = task_entry(submission, ":reinstated")
    assert (again.state, again.amount) == ("pending", TASK_PRICE)
    assert Review.objects.get(level="peer").overturned is True


def test_a_rejected_appeal_keeps_the_rejection(boss) -> None:
    submission = rejected_submission(boss)
    appeal = services.appeal_create(
        submission_id=submission.pk, user=submission.contributor, reason="The law changed."
    )
    expert = reviewer(expert=True)
    decide(services.review_next(user=expert, level="expert"), expert, "reject", "It did not.")

    appeal.refresh_from_db()
    submission.refresh_from_db()
    assert appeal.status == Appeal.Status.UPHELD
    assert submission.status == Submission.Status.REJECTED
    assert not EarningEntry.objects.filter(idempotency_key__endswith=":reinstated").exists()
    assert Review.objects.get(level="peer").overturned is False


def test_an_appeal_is_decided_by_accepting_or_rejecting_only(boss) -> None:
    submission = rejected_submission(boss)
    services.appeal_create(submission_id=submission.pk, user=submission.contributor, reason="No.")
    expert = reviewer(expert=True)
    with pytest.raises(InvalidInput) as refused:
        decide(services.review_next(user=expert, level="expert"), expert, "revise", "Redo it.")
    assert refused.value.fields == {"verdict": ["An appeal is decided: accept or reject."]}


def test_an_appeal_made_while_an_audit_waits_is_decided_by_the_expert(boss) -> None:
    submission = rejected_submission(boss, expert_audit_rate=1.0)
    appeal = services.appeal_create(
        submission_id=submission.pk, user=submission.contributor, reason="The law changed."
    )
    expert = reviewer(expert=True)
    decide(services.review_next(user=expert, level="expert"), expert, "accept")

    submission.refresh_from_db()
    appeal.refresh_from_db()
    assert submission.status == Submission.Status.ACCEPTED
    assert appeal.status == Appeal.Status.OVERTURNED


# --- disagreement ---------------------------------------------------------------------------


def answer_choosing(project, choice: str) -> Submission:
    other = "b" if choice == "a" else "a"
    person = worker(project)
    assignment = services.assignment_next(project_id=project.pk, user=person)
    return services.submission_submit(
        assignment_id=assignment.pk,
        user=person,
        answers={
            "helpfulness": {choice: 6, other: 3},
            "better": {"choice": choice, "strength": 2},
            "rationale": f"Response {choice} is the clearer and more accurate one.",
        },
    )


def disagreement_project(boss):
    # Copied rationales are not looked for: the three people here write the same one.
    return review_project(
        boss,
        1,
        overlap=3,
        review_first_n=0,
        review_rate=0,
        disagreement_share=0.7,
        duplicate_action="off",
    )


def test_a_completed_task_whose_choices_split_sends_its_submissions_to_review(boss) -> None:
    project = disagreement_project(boss)
    done = [answer_choosing(project, "a"), answer_choosing(project, "a")]
    assert not Review.objects.exists()  # the task is not complete yet
    done.append(answer_choosing(project, "b"))  # the top choice now has 2/3 < 0.7

    assert sorted(Review.objects.values_list("submission_id", "reason", "level")) == [
        (s.pk, "disagreement", "peer") for s in done
    ]
    assert set(Submission.objects.values_list("status", flat=True)) == {"in_review"}


def test_a_completed_task_whose_people_agree_is_not_reviewed(boss) -> None:
    project = disagreement_project(boss)
    for _ in range(3):
        answer_choosing(project, "a")
    assert not Review.objects.exists()
    assert set(Submission.objects.values_list("status", flat=True)) == {"accepted"}


# --- many reviewers at once -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reviewers_taking_reviews_at_once_never_get_the_same_one() -> None:
    boss = staff()
    project = review_project(boss, 12, review_first_n=4)
    for person in [worker(project) for _ in range(3)]:
        for _ in range(4):
            do_task(project, person)
    peers = [reviewer() for _ in range(6)]
    barrier = threading.Barrier(len(peers))
    claims: list[tuple[int, int]] = []
    failures: list[BaseException] = []

    def review_all(peer) -> None:
        try:
            barrier.wait()
            while True:
                try:
                    review = services.review_next(user=peer)
                except NoReviewAvailable:
                    return
                claims.append((review.pk, peer.pk))
                decide(review, peer, "accept")
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=review_all, args=(peer,)) for peer in peers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(claims) == 12
    assert len({review_id for review_id, _ in claims}) == 12
    assert set(Review.objects.values_list("pk", "reviewer_id")) == set(claims)
    assert set(Review.objects.values_list("status", flat=True)) == {"done"}
    assert EarningEntry.objects.filter(kind="review").count() == 12
