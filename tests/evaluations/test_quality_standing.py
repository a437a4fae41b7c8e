"""Quality standings: the per-track score from gold and reviews, and what it does: warnings,
pauses, revocation proposals that staff decide, and the multiplier standing."""

import pytest
from django.urls import reverse

from common.errors import InvalidInput, PermissionDenied
from contributors.models import Qualification, QualityScore, StandingChange
from contributors.selectors import standing_at
from evaluations import services
from evaluations.errors import Paused
from evaluations.models import QualityAction
from marketplace import services as marketplace
from marketplace.models import Membership
from tests.conftest import api_for
from tests.evaluations.helpers import project_with_tasks, worker
from tests.evaluations.quality_helpers import (
    answer_golds,
    do_task,
    gold_project,
    reviewer,
    rubric_scores,
)
from tests.marketplace.helpers import qualified, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    return staff()


def scored(project, *, right: int, wrong: int):
    """A person on the project who answered gold right and wrong, with their standing."""
    person = worker(project)
    answer_golds(project, person, right=right, wrong=wrong)
    (score,) = services.standing_compute(user=person)
    return person, score


def actions(person, kind: str) -> list[QualityAction]:
    return list(QualityAction.objects.filter(user=person, kind=kind))


def test_the_gold_part_of_the_score_is_the_beta_posterior_of_the_gold_answers(boss) -> None:
    project = gold_project(10, actor=boss)
    _person, score = scored(project, right=8, wrong=2)
    # Beta(9, 3): mean 0.75, 90% interval (0.5299, 0.9212).
    assert score.track == "general"
    assert (score.gold_answered, score.score, score.level) == (10, 0.75, "good")
    assert (score.gold_mean, score.gold_low, score.gold_high) == pytest.approx(
        (0.75, 0.5299, 0.9212), abs=1e-4
    )
    assert score.evidence["gold"] == {"right": 8, "answered": 10}
    assert score.evidence["weights"] == {"gold": 0.5}


def test_a_person_failing_gold_is_put_at_risk_paused_and_proposed_for_revocation(boss) -> None:
    project = gold_project(22, actor=boss)
    person, score = scored(project, right=2, wrong=20)

    # Beta(3, 21): mean 0.125, upper end of the 90% interval 0.2492 < 0.5, over 22 answers.
    assert (score.level, score.gold_answered) == (QualityScore.Level.AT_RISK, 22)
    assert score.gold_high == pytest.approx(0.2492, abs=1e-4)
    membership = Membership.objects.get(user=person, project=project)
    assert membership.paused_at is not None
    (pause,) = actions(person, "pause")
    assert (pause.project_id, pause.track, pause.status) == (project.pk, "general", "done")
    (proposal,) = actions(person, "revoke")
    assert (proposal.status, proposal.qualification_code) == ("awaiting", "general")
    assert proposal.evidence["gold"] == {"right": 2, "answered": 22}
    assert Qualification.objects.get(user=person).revoked_at is None  # staff decide

    with pytest.raises(Paused) as refused:
        services.assignment_next(project_id=project.pk, user=person)
    assert (refused.value.http_status, refused.value.code) == (403, "paused_here")
    response = api_for(person).post(reverse("task-next", args=[project.pk]))
    assert (response.status_code, response.json()["code"]) == (403, "paused_here")


def test_recomputing_an_at_risk_person_does_not_pause_or_propose_twice(boss) -> None:
    project = gold_project(22, actor=boss)
    person, _score = scored(project, right=2, wrong=20)
    services.standing_compute(user=person)
    assert len(actions(person, "pause")) == 1
    assert len(actions(person, "revoke")) == 1


def test_at_risk_with_under_twenty_gold_answers_pauses_without_a_revocation(boss) -> None:
    project = gold_project(10, actor=boss)
    person, score = scored(project, right=0, wrong=10)
    assert score.level == QualityScore.Level.AT_RISK
    assert len(actions(person, "pause")) == 1
    assert actions(person, "revoke") == []


def proposal_for(boss) -> tuple[object, QualityAction]:
    project = gold_project(22, actor=boss)
    person, _score = scored(project, right=2, wrong=20)
    return person, QualityAction.objects.get(user=person, kind="revoke")


def test_staff_confirming_a_revocation_revokes_the_qualification(boss) -> None:
    person, proposal = proposal_for(boss)

    decided = services.quality_action_decide(
        action_id=proposal.pk, actor=boss, confirm=True, note="Checked the answers."
    )

    assert (decided.status, decided.decided_by_id) == ("done", boss.pk)
    assert decided.evidence["staff_note"] == "Checked the answers."
    qualification = Qualification.objects.get(user=person, code="general")
    assert qualification.revoked_at is not None
    assert qualification.revoked_by_id == boss.pk
    assert qualification.revoked_reason.startswith("Gold accuracy in general is below 0.5")


def test_staff_dismissing_a_revocation_leaves_the_qualification(boss) -> None:
    person, proposal = proposal_for(boss)
    decided = services.quality_action_decide(action_id=proposal.pk, actor=boss, confirm=False)
    assert decided.status == QualityAction.Status.DISMISSED
    assert Qualification.objects.get(user=person, code="general").revoked_at is None
    with pytest.raises(InvalidInput):
        services.quality_action_decide(action_id=proposal.pk, actor=boss, confirm=True)


def test_only_staff_decide_a_revocation(boss) -> None:
    person, proposal = proposal_for(boss)
    with pytest.raises(PermissionDenied):
        services.quality_action_decide(
            action_id=proposal.pk, actor=qualified("general"), confirm=True
        )
    proposal.refresh_from_db()
    assert proposal.status == QualityAction.Status.AWAITING
    assert Qualification.objects.get(user=person).revoked_at is None


@pytest.mark.parametrize(
    ("right", "standing", "score"),
    [(8, "strong", 9 / 11), (9, "exceptional", 10 / 11)],
    ids=["8-of-9-strong", "9-of-9-exceptional"],
)
def test_a_strong_performer_gets_the_matching_multiplier_standing(
    boss, right, standing, score
) -> None:
    project = gold_project(9, actor=boss)
    person, quality = scored(project, right=right, wrong=9 - right)

    assert (quality.level, quality.score) == ("good", pytest.approx(score))
    assert standing_at(user=person) == standing
    change = StandingChange.objects.get(user=person)
    assert (change.standing, change.set_by_id) == (standing, None)
    (action,) = actions(person, "standing")
    assert action.track == "general"
    assert action.reason.endswith(f"The multiplier level is now {standing}.")
    assert action.evidence == {"general": pytest.approx(score)}


def test_a_standing_already_in_force_is_not_recorded_again(boss) -> None:
    project = gold_project(9, actor=boss)
    person, _quality = scored(project, right=9, wrong=0)
    services.standing_compute(user=person)
    assert StandingChange.objects.filter(user=person).count() == 1
    assert len(actions(person, "standing")) == 1


def test_the_periodic_update_recomputes_everyone_who_worked_recently(boss) -> None:
    project = gold_project(5, actor=boss)
    people = [worker(project), worker(project)]
    for person in people:
        answer_golds(project, person, right=5, wrong=0)
    assert services.standings_update() == 2
    assert sorted(QualityScore.objects.values_list("user_id", "level", "gold_answered")) == [
        (person.pk, "good", 5) for person in people
    ]


def test_too_little_evidence_leaves_the_person_new_and_does_nothing(boss) -> None:
    project = gold_project(3, actor=boss)
    person, score = scored(project, right=0, wrong=3)

    assert (score.level, score.gold_answered) == (QualityScore.Level.NEW, 3)
    assert not QualityAction.objects.filter(user=person).exists()
    assert not StandingChange.objects.filter(user=person).exists()
    assert Membership.objects.get(user=person, project=project).paused_at is None


def test_sliding_from_good_to_watch_warns_once(boss) -> None:
    project = gold_project(7, actor=boss)
    person, first = scored(project, right=5, wrong=0)
    assert first.level == "good"  # Beta(6, 1): 0.857
    assert actions(person, "warn") == []

    answer_golds(project, person, right=0, wrong=2)
    (second,) = services.standing_compute(user=person)
    services.standing_compute(user=person)

    assert second.level == "watch"  # Beta(6, 3): 0.667
    (warning,) = actions(person, "warn")
    assert warning.reason == "Quality in general slipped to 0.67 (below 0.75)."
    assert warning.evidence["level"] == "watch"
    assert Membership.objects.get(user=person, project=project).paused_at is None
    assert standing_at(user=person) == "standard"  # strong at 0.857, back to standard now


def test_review_verdicts_and_rubric_points_make_the_score_without_gold(boss) -> None:
    project = project_with_tasks(5, actor=boss)
    services.quality_settings_set(
        project_id=project.pk, actor=boss, peer_review=True, review_first_n=5
    )
    person = worker(project)
    for _ in range(5):
        do_task(project, person)
    peer = reviewer()
    for _ in range(5):
        review = services.review_next(user=peer)
        services.review_decide(
            review_id=review.pk, user=peer, verdict="accept", scores=rubric_scores(4)
        )

    (score,) = services.standing_compute(user=person)

    # Each review: (accept 1.0 + 8 of 10 rubric points) / 2 = 0.9.
    assert (score.reviews, score.review_mean, score.score) == (5, 0.9, pytest.approx(0.9))
    assert score.evidence["weights"] == {"review": 0.3}
    assert score.level == "good"


def test_an_at_risk_person_is_paused_on_every_project_of_the_track(boss) -> None:
    project = gold_project(10, actor=boss)
    other = project_with_tasks(1, actor=boss)
    person = worker(project)
    marketplace.membership_join(project_id=other.pk, user=person)
    answer_golds(project, person, right=0, wrong=10)

    (score,) = services.standing_compute(user=person)

    assert (score.track, score.level) == ("general", "at_risk")
    with pytest.raises(Paused):
        services.assignment_next(project_id=other.pk, user=person)
