"""The quality API: who may call what, what each side sees, and the errors bad input gets."""

from decimal import Decimal

import pytest
from django.urls import reverse

from evaluations import services
from evaluations.models import QualitySettings, Review, Submission, Task
from tests.conftest import api_for
from tests.evaluations.helpers import project_with_tasks, worker
from tests.evaluations.quality_helpers import do_task, reviewer, rubric_scores
from tests.marketplace.helpers import staff

pytestmark = pytest.mark.django_db


def reviewed_project(**quality):
    boss = staff()
    project = project_with_tasks(
        4, overlap=2, actor=boss, pay_model="per_task", task_minutes=6, pay_rate=Decimal("30")
    )
    services.quality_settings_set(
        project_id=project.pk, actor=boss, peer_review=True, expert_review=True, **quality
    )
    return boss, project


def test_staff_set_rules_and_bad_rules_name_the_field() -> None:
    boss, project = reviewed_project()
    url = reverse("quality-settings", args=[project.pk])
    client = api_for(boss)
    assert client.get(url).json()["peer_review"] is True
    bad = client.put(url, {"review_rate": 1.5, "rubric": [{"name": "x"}]}, format="json")
    assert bad.status_code == 400
    assert "review_rate" in bad.json()["fields"]
    bad_rubric = client.put(url, {"rubric": [{"name": "Bad Name", "label": "x", "max": 5}]})
    assert bad_rubric.status_code == 400
    assert "rubric" in bad_rubric.json()["fields"]
    good = client.put(url, {"review_rate": 0.5, "gold_ratio": 0.2}, format="json")
    assert good.status_code == 200
    assert QualitySettings.objects.get(project=project).review_rate == 0.5


def test_contributors_cannot_reach_staff_quality_endpoints() -> None:
    _, project = reviewed_project()
    person = worker(project)
    client = api_for(person)
    task = Task.objects.filter(project=project).first()
    assert client.get(reverse("quality-settings", args=[project.pk])).status_code == 403
    assert client.get(reverse("project-quality", args=[project.pk])).status_code == 403
    assert client.post(reverse("aggregation-create", args=[project.pk])).status_code == 403
    gold = client.put(
        reverse("task-gold", args=[task.pk]), {"answers": {"better": {"choice": "a"}}}
    )
    assert gold.status_code == 403
    assert client.get(reverse("quality-action-list")).status_code == 403


def test_a_gold_answer_that_does_not_fit_the_form_is_400_and_changes_nothing() -> None:
    boss, project = reviewed_project()
    task = Task.objects.filter(project=project).first()
    client = api_for(boss)
    bad = client.put(
        reverse("task-gold", args=[task.pk]),
        {"answers": {"helpfulness": {"a": 9}, "nope": 1}, "tolerances": {"better": 1}},
        format="json",
    )
    assert bad.status_code == 400
    assert {"answers.helpfulness.a", "answers.nope", "tolerances.better"} <= set(
        bad.json()["fields"]
    )
    task.refresh_from_db()
    assert task.is_gold is False
    good = client.put(
        reverse("task-gold", args=[task.pk]),
        {"answers": {"better": {"choice": "b"}}, "tolerances": {}},
        format="json",
    )
    assert good.status_code == 200
    task.refresh_from_db()
    assert task.is_gold is True


def test_a_gold_assignment_looks_like_any_other_to_the_contributor() -> None:
    boss, project = reviewed_project(gold_ratio=0.5)
    gold = Task.objects.filter(project=project).first()
    services.gold_set(task_id=gold.pk, actor=boss, answers={"better": {"choice": "b"}})
    seen_gold = seen_normal = None
    for _ in range(12):
        person = worker(project)
        data = api_for(person).post(reverse("task-next", args=[project.pk])).json()
        if data["task"]["id"] == gold.pk:
            seen_gold = data
        else:
            seen_normal = data
        if seen_gold and seen_normal:
            break
    assert seen_gold is not None
    assert seen_normal is not None
    assert set(seen_gold) == set(seen_normal)
    assert set(seen_gold["task"]) == set(seen_normal["task"])
    text = str(seen_gold)
    assert "gold" not in text.lower()


def test_the_reviewer_sees_a_blind_review_and_the_contributor_never_sees_staff_notes() -> None:
    _, project = reviewed_project()
    person = worker(project)
    submission = do_task(project, person)
    checker = reviewer()
    client = api_for(checker)
    taken = client.post(reverse("review-next"))
    assert taken.status_code == 200
    body = taken.json()
    assert body["submission"]["id"] == submission.pk
    assert person.email not in str(body)
    assert person.full_name not in str(body)
    assert [item["name"] for item in body["rubric"]] == ["accuracy", "rationale"]
    verdict = client.post(
        reverse("review-verdict", args=[body["id"]]),
        {
            "verdict": "revise",
            "scores": rubric_scores(3),
            "comment": "Say which fact is wrong.",
            "staff_note": "borderline, watch this person",
        },
        format="json",
    )
    assert verdict.status_code == 200
    mine = api_for(person).get(reverse("submission-feedback", args=[submission.pk])).json()
    assert mine["status"] == "revision"
    assert mine["reviews"][0]["comment"] == "Say which fact is wrong."
    assert "borderline" not in str(mine)
    assert "reviewer" not in str(mine)
    assert mine["can_resubmit"] is True


def test_bad_verdicts_and_other_peoples_reviews_get_clear_errors() -> None:
    _, project = reviewed_project()
    submission = do_task(project)
    checker = reviewer()
    client = api_for(checker)
    review_id = client.post(reverse("review-next")).json()["id"]
    missing = client.post(
        reverse("review-verdict", args=[review_id]),
        {"verdict": "reject", "scores": {"accuracy": 9}},
        format="json",
    )
    assert missing.status_code == 400
    assert {"scores.accuracy", "scores.rationale"} <= set(missing.json()["fields"])
    stranger = api_for(reviewer())
    assert stranger.get(reverse("review-detail", args=[review_id])).status_code == 404
    assert (
        stranger.post(
            reverse("review-verdict", args=[review_id]),
            {"verdict": "accept", "scores": rubric_scores()},
            format="json",
        ).status_code
        == 404
    )
    done = client.post(
        reverse("review-verdict", args=[review_id]),
        {"verdict": "accept", "scores": rubric_scores()},
        format="json",
    )
    assert done.status_code == 200
    again = client.post(
        reverse("review-verdict", args=[review_id]),
        {"verdict": "reject", "scores": rubric_scores(), "comment": "changed my mind"},
        format="json",
    )
    assert again.status_code == 409
    assert Submission.objects.get(pk=submission.pk).status == "accepted"


def test_reviewing_ones_own_work_is_refused_with_the_reason() -> None:
    _, project = reviewed_project()
    both = reviewer()
    from marketplace import services as marketplace

    marketplace.membership_join(project_id=project.pk, user=both)
    own = do_task(project, both)
    review = Review.objects.get(submission=own)
    refused = api_for(both).post(reverse("review-claim", args=[review.pk]))
    assert refused.status_code == 403
    assert refused.json()["code"] == "own_work"
    assert api_for(both).post(reverse("review-next")).status_code == 404


def test_a_contributor_without_the_reviewer_role_cannot_take_reviews() -> None:
    _, project = reviewed_project()
    do_task(project)
    refused = api_for(worker(project)).post(reverse("review-next"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_a_reviewer"


def test_appeal_once_through_the_api() -> None:
    _, project = reviewed_project()
    person = worker(project)
    submission = do_task(project, person)
    checker = reviewer()
    review = services.review_next(user=checker)
    services.review_decide(
        review_id=review.pk, user=checker, verdict="reject", scores=rubric_scores(1), comment="No."
    )
    client = api_for(person)
    url = reverse("submission-appeal", args=[submission.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    first = client.post(url, {"reason": "The source says otherwise."})
    assert first.status_code == 201
    second = client.post(url, {"reason": "Again."})
    assert second.status_code == 409
    assert second.json()["code"] == "appeal_refused"
    queue = api_for(reviewer(expert=True)).get(reverse("review-queue")).json()
    assert [(row["level"], row["waiting"]) for row in queue] == [("expert", 1)]


def test_aggregation_through_the_api_and_a_method_a_question_has_not_is_400(
    django_capture_on_commit_callbacks,
) -> None:
    boss, project = reviewed_project()
    for _ in range(2):
        person = worker(project)
        for _ in range(2):
            do_task(project, person)
    client = api_for(boss)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("aggregation-create", args=[project.pk]))
    assert started.status_code == 202
    run = client.get(reverse("aggregation-detail", args=[started.json()["id"]])).json()
    assert run["status"] == "done"
    assert set(run["summary"]["questions"]) == {"helpfulness", "better"}
    listed = client.get(
        reverse("aggregate-list", args=[project.pk]), {"question": "better", "method": "majority"}
    )
    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    wrong = client.get(
        reverse("aggregate-list", args=[project.pk]),
        {"question": "helpfulness", "method": "dawid_skene"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "no_such_method"
    text = client.get(
        reverse("aggregate-list", args=[project.pk]),
        {"question": "rationale", "method": "majority"},
    )
    assert text.status_code == 400
    overview = client.get(reverse("project-quality", args=[project.pk])).json()
    assert overview["aggregation"]["summary"]["leaderboard"]["models"][0]["model"] == "m1"


def test_my_quality_lists_only_my_own_figures() -> None:
    _, project = reviewed_project()
    person = worker(project)
    do_task(project, person)
    services.standing_compute(user=person)
    mine = api_for(person).get(reverse("my-quality")).json()
    assert [score["track"] for score in mine["scores"]] == ["general"]
    other = api_for(worker(project)).get(reverse("my-quality")).json()
    assert other["scores"] == []


def test_the_overview_shows_how_often_experts_overturned_each_peer_reviewer() -> None:
    boss, project = reviewed_project(expert_audit_rate=1.0)
    submission = do_task(project)
    peer, expert = reviewer(), reviewer(expert=True)
    review = services.review_next(user=peer)
    services.review_decide(
        review_id=review.pk, user=peer, verdict="reject", scores=rubric_scores(1), comment="No."
    )
    audit = services.review_next(user=expert, level="expert")
    assert (audit.reason, audit.audit_of_id) == ("audit", review.pk)
    services.review_decide(
        review_id=audit.pk, user=expert, verdict="accept", scores=rubric_scores(5)
    )
    overview = api_for(boss).get(reverse("project-quality", args=[project.pk])).json()
    assert overview["reviewers"] == [
        {
            "reviewer": peer.pk,
            "name": peer.full_name,
            "verdicts": 1,
            "audited": 1,
            "overturned": 1,
        }
    ]
    assert Submission.objects.get(pk=submission.pk).status == "accepted"
