"""Evaluation pages through Django's test client: the staff page, the workspace's small steps."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evaluations.models import Assignment, CodeRun, EvaluationForm, Task
from evaluations.services import assignment_next, tasks_import
from tests.evaluations.helpers import jsonl, project_with_tasks, task_line, worker
from tests.marketplace.helpers import qualified, staff

pytestmark = pytest.mark.django_db


def test_the_staff_page_saves_a_form_and_names_bad_json(client) -> None:
    project = project_with_tasks(0)
    client.force_login(staff())
    url = reverse("evaluations:manage", args=[project.pk])
    bad = client.post(url, {"action": "form", "schema": "{not json"})
    assert "Not valid JSON" in bad.content.decode()
    invalid = client.post(
        url,
        {
            "action": "form",
            "schema": '{"questions": [{"name": "x", "type": "essay", "prompt": "p"}]}',
        },
    )
    assert "schema.questions.0" in invalid.content.decode()
    assert EvaluationForm.objects.filter(project=project).count() == 1


def test_the_staff_page_imports_a_file(client, django_capture_on_commit_callbacks) -> None:
    project = project_with_tasks(0)
    client.force_login(staff())
    url = reverse("evaluations:manage", args=[project.pk])
    upload = SimpleUploadedFile("tasks.jsonl", jsonl([task_line(1)]).getvalue())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "import", "file": upload})
    page = client.get(url).content.decode()
    assert "Import queued." in page
    assert "Succeeded" in page
    assert Task.objects.filter(project=project).count() == 1


def test_contributors_cannot_open_the_staff_page(client) -> None:
    project = project_with_tasks(0)
    client.force_login(qualified("general"))
    assert client.get(reverse("evaluations:manage", args=[project.pk])).status_code == 403


def test_the_project_page_offers_to_start_a_task_to_members(client) -> None:
    project = project_with_tasks(1)
    client.force_login(worker(project))
    html = client.get(reverse("marketplace:project", args=[project.pk])).content.decode()
    assert "Start a task" in html


def test_a_draft_saves_from_the_workspace(client) -> None:
    project = project_with_tasks(1)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    client.force_login(person)
    response = client.post(
        reverse("evaluations:draft", args=[assignment.pk]),
        {"q-rationale": "First thoughts"},
        HTTP_HX_REQUEST="true",
    )
    assert "Draft saved" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.draft == {"rationale": "First thoughts"}


def test_skipping_needs_a_reason_and_then_moves_on(client) -> None:
    project = project_with_tasks(2)
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    client.force_login(person)
    refused = client.post(
        reverse("evaluations:skip", args=[assignment.pk]), {"reason": ""}, follow=True
    )
    assert "Say why you skip this task." in refused.content.decode()
    moved = client.post(
        reverse("evaluations:skip", args=[assignment.pk]), {"reason": "Not my field"}
    )
    following = Assignment.objects.get(contributor=person, status="active")
    assert moved["Location"] == reverse("evaluations:workspace", args=[following.pk])


@pytest.mark.sandbox
def test_a_response_runs_against_the_task_tests_in_the_sandbox(
    client, django_capture_on_commit_callbacks
) -> None:
    project = project_with_tasks(0)
    tests = (
        "from solution import double\n"
        "assert double(2) == 4\n"
        "assert double(-1) == -2\n"
        "print('all good')\n"
    )
    task = {
        "prompt": "Write double(x).",
        "responses": [
            {"id": "a", "text": "def double(x):\n    return x * 2\n"},
            {"id": "b", "text": "def double(x):\n    return x + 2\n"},
        ],
        "tests": tests,
    }
    tasks_import(project_id=project.pk, handle=jsonl([task]), fmt="jsonl")
    person = worker(project)
    assignment = assignment_next(project_id=project.pk, user=person)
    client.force_login(person)
    url = reverse("evaluations:run_code", args=[assignment.pk])
    for source in ("a", "b"):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, {"source": source}, HTTP_HX_REQUEST="true")
    runs = {run.source: run for run in CodeRun.objects.filter(assignment=assignment)}
    assert (runs["a"].status, runs["a"].passed, runs["a"].result["stdout"]) == (
        "done",
        True,
        "all good\n",
    )
    assert (runs["b"].status, runs["b"].passed) == ("done", False)
    assert "AssertionError" in runs["b"].result["stderr"]
