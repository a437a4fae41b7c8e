"""Assessment pages through Django's test client: what a person sees and can do."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assessments.models import Attempt, GradingTask
from assessments.services import attempt_score, attempt_start, attempt_submit
from tests.assessments.helpers import answer_all, make_grader
from tests.contributors.factories import ContributorFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_what_each_assessment_unlocks_and_why_not(client, tiny, candidate) -> None:
    client.force_login(candidate)
    html = client.get(reverse("assessments:list")).content.decode()
    assert "General evaluation — <strong>General tier</strong>" in html
    assert "Python programming — <strong>Coding tier</strong>" in html
    assert "Pass the Starter Assessment first." in html


def test_home_leads_to_the_starter_then_back_to_it_then_to_the_wait(
    client, tiny, candidate
) -> None:
    client.force_login(candidate)
    assert client.get("/").context["step"].url == "/assessments/starter/"
    attempt = attempt_start(user=candidate, slug="starter")
    step = client.get("/").context["step"]
    assert (step.title, step.url) == (
        "Finish your Starter Assessment",
        f"/assessments/attempts/{attempt.pk}/",
    )
    attempt_submit(attempt_id=attempt.pk, user=candidate)
    assert client.get("/").context["step"].title == "Wait for the decision"


def test_starting_from_the_page_opens_the_attempt(client, tiny, candidate) -> None:
    client.force_login(candidate)
    response = client.post(reverse("assessments:start", args=["starter"]), follow=True)
    attempt = Attempt.objects.get(user=candidate)
    assert response.redirect_chain[-1][0] == f"/assessments/attempts/{attempt.pk}/"
    html = response.content.decode()
    assert html.count('class="card question"') == 8
    assert 'data-deadline="' in html


def test_starting_twice_from_the_page_resumes(client, tiny, candidate) -> None:
    client.force_login(candidate)
    client.post(reverse("assessments:start", args=["starter"]))
    response = client.post(reverse("assessments:start", args=["starter"]), follow=True)
    assert "You already have an attempt in progress" in response.content.decode()
    assert Attempt.objects.filter(user=candidate).count() == 1


def test_autosave_answers_a_fragment_that_says_when(client, tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    item = attempt.items.get(question_id="q-num")
    client.force_login(candidate)
    url = reverse("assessments:answer", args=[attempt.pk, item.pk])
    saved = client.post(url, {"value": "66"}, HTTP_HX_REQUEST="true")
    refused = client.post(url, {"value": "many"}, HTTP_HX_REQUEST="true")
    assert "Saved at" in saved.content.decode()
    assert "Not saved: Invalid input. Enter a number, e.g. 12.5." in refused.content.decode()
    item.refresh_from_db()
    assert item.answer == {"value": "66"}


def test_opening_the_attempt_after_its_time_submits_it(client, tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    Attempt.objects.filter(pk=attempt.pk).update(
        started_at=timezone.now() - timedelta(hours=2),
        deadline_at=timezone.now() - timedelta(minutes=1),
    )
    client.force_login(candidate)
    response = client.get(reverse("assessments:attempt", args=[attempt.pk]), follow=True)
    assert "The time was up, so your saved answers were submitted." in response.content.decode()
    assert Attempt.objects.get(pk=attempt.pk).submitted_by == "deadline"


def test_the_result_page_says_where_scoring_stands(client, tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    answer_all(attempt, candidate)
    attempt_submit(attempt_id=attempt.pk, user=candidate)
    attempt_score(attempt_id=attempt.pk)
    client.force_login(candidate)
    html = client.get(reverse("assessments:result", args=[attempt.pk])).content.decode()
    assert "6 of 8 answers are scored." in html
    assert "2 written answers wait for two independent reviewers." in html


def test_someone_elses_result_page_is_404(client, tiny, candidate) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    client.force_login(ContributorFactory(status="assessing"))
    assert client.get(reverse("assessments:result", args=[attempt.pk])).status_code == 404


def test_grading_pages_are_for_graders(client, tiny, candidate) -> None:
    client.force_login(candidate)
    assert client.get(reverse("assessments:grading")).status_code == 403


def test_a_grader_claims_sees_the_rubric_and_a_missing_score_is_named(
    client, tiny, candidate
) -> None:
    attempt = attempt_start(user=candidate, slug="starter")
    answer_all(attempt, candidate)
    attempt_submit(attempt_id=attempt.pk, user=candidate)
    attempt_score(attempt_id=attempt.pk)
    grader = make_grader("general")
    client.force_login(grader)

    claimed = client.post(reverse("assessments:grading_claim"), follow=True)
    task = GradingTask.objects.get(grader=grader)
    html = claimed.content.decode()
    assert candidate.email not in html
    assert "(0\N{EN DASH}" in html  # each criterion shows its range
    first_criterion = claimed.context["rubric"][0]["id"]
    refused = client.post(
        reverse("assessments:grading_task", args=[task.pk]), {f"criterion-{first_criterion}": "1"}
    )
    assert "Score every criterion." in refused.content.decode()
    task.refresh_from_db()
    assert task.status == "claimed"
