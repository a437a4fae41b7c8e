"""The assessments API: starts, answers and grades, errors in the one shape, nothing secret."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from assessments.models import Assessment, Attempt
from assessments.services import attempt_score, attempt_submit
from tests.assessments.helpers import answer_all, make_grader
from tests.conftest import api_for
from tests.contributors.factories import ContributorFactory, UserFactory

pytestmark = pytest.mark.django_db


def start(client) -> dict:
    response = client.post(reverse("attempt-list"), {"assessment": "starter"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_list_says_what_each_unlocks_and_whether_one_may_start(tiny, candidate) -> None:
    body = api_for(candidate).get(reverse("assessment-list")).json()
    rows = {row["slug"]: row for row in body}
    assert rows["starter"]["may_start"] is True
    assert rows["starter"]["unlocks"] == [
        {
            "code": "general",
            "label": "General evaluation",
            "tier": "general",
            "tier_label": "General",
        }
    ]
    assert (rows["tiny-code"]["may_start"], rows["tiny-code"]["reason"]) == (
        False,
        "Pass the Starter Assessment first.",
    )
    assert rows["tiny-code"]["unlocks"][0]["tier_label"] == "Coding"


def test_starting_answers_201_with_the_questions_and_a_deadline(tiny, candidate) -> None:
    body = start(api_for(candidate))
    assert body["status"] == "in_progress"
    assert len(body["items"]) == 8
    assert body["deadline_at"] > body["started_at"]


def test_a_second_starter_start_is_409_and_nothing_changes(tiny, candidate) -> None:
    client = api_for(candidate)
    attempt = start(client)
    again = client.post(reverse("attempt-list"), {"assessment": "starter"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "attempt_in_progress")
    client.post(reverse("attempt-submit", args=[attempt["id"]]))
    after = client.post(reverse("attempt-list"), {"assessment": "starter"}, format="json")
    assert (after.status_code, after.json()["code"]) == (409, "starter_already_taken")
    assert Attempt.objects.filter(user=candidate).count() == 1


def test_a_specialist_start_without_the_starter_is_403_with_the_reason(tiny) -> None:
    response = api_for(ContributorFactory(status="active")).post(
        reverse("attempt-list"), {"assessment": "tiny-code"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Pass the Starter Assessment first.",
        "code": "not_eligible",
        "fields": {},
    }


def test_an_unknown_assessment_is_404(tiny, candidate) -> None:
    response = api_for(candidate).post(
        reverse("attempt-list"), {"assessment": "astrology"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (404, "assessment_not_found")


def test_answers_save_through_the_api_and_bad_ones_name_the_field(tiny, candidate) -> None:
    client = api_for(candidate)
    attempt = start(client)
    item = next(i for i in attempt["items"] if i["question"]["id"] == "q-single")
    url = reverse("attempt-answer", args=[attempt["id"], item["id"]])

    ok = client.put(url, {"answer": {"choice": "a"}}, format="json")
    bad = client.put(url, {"answer": {"choice": "zz"}}, format="json")

    assert (ok.status_code, ok.json()["answer"]) == (200, {"choice": "a"})
    assert (bad.status_code, bad.json()["code"], list(bad.json()["fields"])) == (
        400,
        "invalid_answer",
        ["answer.choice"],
    )


def test_answering_a_question_not_in_the_attempt_is_404(tiny, candidate) -> None:
    client = api_for(candidate)
    attempt = start(client)
    other = start(api_for(ContributorFactory(status="assessing")))
    url = reverse("attempt-answer", args=[attempt["id"], other["items"][0]["id"]])
    response = client.put(url, {"answer": {"choice": "a"}}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "question_not_in_attempt")


def test_answering_after_submission_or_the_deadline_is_409(tiny, candidate) -> None:
    client = api_for(candidate)
    attempt = start(client)
    url = reverse("attempt-answer", args=[attempt["id"], attempt["items"][0]["id"]])
    deadline = Attempt.objects.get(pk=attempt["id"]).deadline_at
    with time_machine.travel(deadline + timedelta(seconds=5)):
        late = client.put(url, {"answer": {"text": "x"}}, format="json")
    client.post(reverse("attempt-submit", args=[attempt["id"]]))
    closed = client.put(url, {"answer": {"text": "x"}}, format="json")
    assert (late.status_code, late.json()["code"]) == (409, "deadline_passed")
    assert (closed.status_code, closed.json()["code"]) == (409, "attempt_closed")


def test_another_persons_attempt_is_404(tiny, candidate) -> None:
    attempt = start(api_for(candidate))
    response = api_for(ContributorFactory(status="assessing")).get(
        reverse("attempt-detail", args=[attempt["id"]])
    )
    assert response.status_code == 404


SECRET_KEYS = {"rubric", "tests", "accept", "patterns", "choice_points", "credit", "tolerance"}


def walk(data, path=""):
    if isinstance(data, dict):
        for key, value in data.items():
            yield f"{path}.{key}", key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, f"{path}.{index}")


def test_no_response_to_a_contributor_holds_a_key_rubric_point_or_hidden_test(tiny) -> None:
    person = ContributorFactory(status="assessing")
    client = api_for(person)
    responses = [
        client.get(reverse("assessment-list")),
        client.get(reverse("assessment-detail", args=["starter"])),
    ]
    attempt = start(client)
    responses.append(client.get(reverse("attempt-detail", args=[attempt["id"]])))
    responses.append(client.get(reverse("attempt-list")))
    responses.append(client.post(reverse("attempt-submit", args=[attempt["id"]])))
    responses.append(client.get(reverse("attempt-trail", args=[attempt["id"]])))
    secrets = []
    for assessment in Assessment.objects.all():
        for section in assessment.content["sections"]:
            for question in section["questions"]:
                secrets += [criterion["text"] for criterion in question.get("rubric", [])]
                secrets += [json.dumps(test["args"]) for test in question.get("tests", [])]
                secrets += question.get("accept", [])
    for response in responses:
        assert response.status_code in (200, 404), response.content
        text = response.content.decode()
        for path, key, value in walk(response.json()):
            assert key not in SECRET_KEYS, path
            if ".question." in f"{path}." and key == "answer":
                raise AssertionError(f"answer key at {path}")
            if key == "dimensions":
                assert all(set(d) == {"id", "label"} for d in value)
        for secret in secrets:
            assert secret not in text


def test_graders_claim_and_grade_through_the_api(tiny, candidate) -> None:
    from assessments.services import attempt_start

    attempt = attempt_start(user=candidate, slug="starter")
    answer_all(attempt, candidate)
    attempt_submit(attempt_id=attempt.pk, user=candidate)
    attempt_score(attempt_id=attempt.pk)
    client = api_for(make_grader("general"))

    claimed = client.post(reverse("grading-task-claim"))
    task = claimed.json()
    bad = client.post(
        reverse("grading-task-submit", args=[task["id"]]), {"criteria": {}}, format="json"
    )
    criteria = {criterion["id"]: criterion["points"] for criterion in task["rubric"]}
    graded = client.post(
        reverse("grading-task-submit", args=[task["id"]]), {"criteria": criteria}, format="json"
    )

    assert claimed.status_code == 200
    assert "candidate" not in task
    assert candidate.email not in claimed.content.decode()
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid")
    assert (graded.status_code, graded.json()["status"]) == (200, "done")
    second = client.post(reverse("grading-task-claim")).json()  # the other written item
    full = {criterion["id"]: criterion["points"] for criterion in second["rubric"]}
    client.post(
        reverse("grading-task-submit", args=[second["id"]]), {"criteria": full}, format="json"
    )
    assert client.post(reverse("grading-task-claim")).status_code == 204


def test_contributors_without_the_reviewer_role_cannot_grade(tiny) -> None:
    response = api_for(ContributorFactory(status="active")).post(reverse("grading-task-claim"))
    assert (response.status_code, response.json()["code"]) == (403, "grading_not_allowed")


def test_staff_see_the_trail_and_the_backlog_contributors_do_not(tiny, candidate) -> None:
    attempt = start(api_for(candidate))
    staff = UserFactory(roles=("staff",), is_staff=True)
    trail = api_for(staff).get(reverse("attempt-trail", args=[attempt["id"]]))
    assert trail.status_code == 200
    assert [event["kind"] for event in trail.json()["results"]] == ["started"]
    assert api_for(candidate).get(reverse("attempt-trail", args=[attempt["id"]])).status_code == 404
    assert api_for(staff).get(reverse("grading-backlog")).status_code == 200
    assert api_for(candidate).get(reverse("grading-backlog")).status_code == 403
