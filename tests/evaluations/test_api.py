"""The evaluations API: staff set forms and import; contributors take, draft, submit; exports."""

import io
from decimal import Decimal

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from evaluations.models import ImportJob, Submission, Task
from marketplace.models import EarningEntry
from tests.conftest import api_for
from tests.evaluations.helpers import (
    FORM,
    good_answers,
    jsonl,
    project_with_tasks,
    task_line,
    worker,
)
from tests.marketplace.helpers import make_project, qualified, staff

pytestmark = pytest.mark.django_db


def test_a_bad_form_is_400_naming_each_path() -> None:
    project = make_project()
    bad = {
        "questions": [
            {"name": "r", "type": "rating", "prompt": "R", "min": 9, "max": 1},
            {"name": "x", "type": "essay"},
        ]
    }
    response = api_for(staff()).put(
        reverse("evaluation-form", args=[project.pk]), {"schema": bad}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "form_invalid")
    assert set(response.json()["fields"]) == {"schema.questions.0", "schema.questions.1"}


def test_contributors_cannot_see_or_set_forms() -> None:
    project = project_with_tasks(0)
    client = api_for(qualified("general"))
    assert client.get(reverse("evaluation-form", args=[project.pk])).status_code == 403
    assert (
        client.put(
            reverse("evaluation-form", args=[project.pk]), {"schema": FORM}, format="json"
        ).status_code
        == 403
    )


@pytest.mark.parametrize("project_id", [0, 2**63 - 1, 2**63, 10**23])
def test_next_on_a_project_id_past_any_row_is_404(project_id: int) -> None:
    """The seat is read with raw SQL: an id no bigint holds is refused as missing, not sent to
    the database (SQLite overflows on it)."""
    project_with_tasks(1)
    response = api_for(qualified("general")).post(reverse("task-next", args=[project_id]))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_upload_is_imported_by_the_job_and_shows_its_counts(
    django_capture_on_commit_callbacks,
) -> None:
    project = project_with_tasks(0)
    upload = SimpleUploadedFile("tasks.jsonl", jsonl([task_line(1), task_line(2)]).getvalue())
    client = api_for(staff())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("task-import", args=[project.pk]), {"file": upload}, format="multipart"
        )
    assert response.status_code == 202
    job = client.get(reverse("task-import-detail", args=[response.json()["id"]])).json()
    assert (job["status"], job["imported"], job["invalid"]) == ("succeeded", 2, 0)
    assert Task.objects.filter(project=project).count() == 2


def test_an_import_goes_on_and_its_progress_answers_when_the_cache_is_down(
    django_capture_on_commit_callbacks, mocker
) -> None:
    """The live count lives in the cache (Redis in production): with Redis down the import
    still runs, and its progress is the stored state rather than an error."""
    import redis

    down = mocker.patch("evaluations.services.import_jobs.cache")
    down.get.side_effect = down.set.side_effect = down.delete.side_effect = (
        redis.exceptions.ConnectionError("Connection refused")
    )
    mocker.patch("evaluations.services.imports.BATCH", 1)  # report progress at every line
    project = project_with_tasks(0)
    client = api_for(staff())
    job = ImportJob.objects.create(project=project, status=ImportJob.Status.RUNNING)
    running = client.get(reverse("task-import-detail", args=[job.pk]))
    assert (running.status_code, running.json()["status"]) == (200, "running")

    upload = SimpleUploadedFile("tasks.jsonl", jsonl([task_line(1), task_line(2)]).getvalue())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("task-import", args=[project.pk]), {"file": upload}, format="multipart"
        )
    done = client.get(reverse("task-import-detail", args=[response.json()["id"]])).json()
    assert (done["status"], done["imported"]) == ("succeeded", 2)
    assert down.set.call_count >= 2
    assert down.get.call_count == 1


def test_a_failed_upload_reports_each_bad_line_and_imports_nothing(
    django_capture_on_commit_callbacks,
) -> None:
    project = project_with_tasks(0)
    upload = SimpleUploadedFile(
        "tasks.jsonl", jsonl([task_line(1), b"{oops", {"prompt": "no responses"}]).getvalue()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(staff()).post(
            reverse("task-import", args=[project.pk]), {"file": upload}, format="multipart"
        )
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.imported, job.invalid) == ("failed", 0, 2)
    assert [(error["line"], error["field"]) for error in job.errors] == [
        (2, "line"),
        (3, "responses"),
    ]
    assert not Task.objects.exists()


def test_next_draft_submit_through_the_api() -> None:
    project = project_with_tasks(2)
    client = api_for(worker(project))
    taken = client.post(reverse("task-next", args=[project.pk])).json()
    assert [response["letter"] for response in taken["task"]["responses"]] == ["A", "B"]
    assert "answer" not in str(taken["form"])
    draft = client.put(
        reverse("assignment-draft", args=[taken["id"]]),
        {"draft": {"rationale": "so far"}},
        format="json",
    )
    assert draft.status_code == 204
    task = Task.objects.get(pk=taken["task"]["id"])
    submitted = client.post(
        reverse("assignment-submit", args=[taken["id"]]),
        {"answers": good_answers(task)},
        format="json",
    )
    again = client.post(
        reverse("assignment-submit", args=[taken["id"]]),
        {"answers": good_answers(task)},
        format="json",
    )
    assert submitted.status_code == 201
    assert again.json()["id"] == submitted.json()["id"]
    assert Submission.objects.count() == 1


def test_bad_answers_are_400_naming_each_question() -> None:
    project = project_with_tasks(1)
    client = api_for(worker(project))
    taken = client.post(reverse("task-next", args=[project.pk])).json()
    response = client.post(
        reverse("assignment-submit", args=[taken["id"]]),
        {
            "answers": {
                "helpfulness": {"a": 99},
                "better": {"choice": "nope", "strength": 1},
                "spin": 1,
            }
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {
        "answers.helpfulness",
        "answers.helpfulness.a",
        "answers.better.choice",
        "answers.rationale",
        "answers.spin",
    }


def test_someone_elses_assignment_is_404_and_no_task_left_is_404() -> None:
    project = project_with_tasks(1)
    owner, other = worker(project), worker(project)
    taken = api_for(owner).post(reverse("task-next", args=[project.pk])).json()
    assert api_for(other).get(reverse("assignment-detail", args=[taken["id"]])).status_code == 404
    blocked = api_for(other).post(
        reverse("assignment-submit", args=[taken["id"]]), {"answers": {}}, format="json"
    )
    assert blocked.status_code == 404
    none_left = api_for(other).post(reverse("task-next", args=[project.pk]))
    assert (none_left.status_code, none_left.json()["code"]) == (404, "no_task_available")


def test_a_non_member_is_refused_tasks() -> None:
    project = project_with_tasks(1)
    response = api_for(qualified("general")).post(reverse("task-next", args=[project.pk]))
    assert (response.status_code, response.json()["code"]) == (403, "not_working_here")


def test_exports_stream_for_staff_only() -> None:
    project = project_with_tasks(1)
    person = worker(project)
    client = api_for(person)
    taken = client.post(reverse("task-next", args=[project.pk])).json()
    client.post(
        reverse("assignment-submit", args=[taken["id"]]),
        {"answers": good_answers(Task.objects.get())},
        format="json",
    )
    assert client.get(reverse("project-export", args=[project.pk])).status_code == 403
    response = api_for(staff()).get(
        reverse("project-export", args=[project.pk]), {"kind": "preferences", "format": "jsonl"}
    )
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="project-{project.pk}-preferences.jsonl"'
    )
    rows = [orjson.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [(row["chosen"], row["rejected"]) for row in rows] == [
        ("Answer A to 0", "Answer B to 0")
    ]
    bad = api_for(staff()).get(reverse("project-export", args=[project.pk]), {"kind": "everything"})
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["kind"])


def test_code_runs_need_tests_on_the_task() -> None:
    project = project_with_tasks(1)
    client = api_for(worker(project))
    taken = client.post(reverse("task-next", args=[project.pk])).json()
    response = client.post(
        reverse("code-run-create", args=[taken["id"]]), {"source": "a"}, format="json"
    )
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "This task has no tests to run.",
    )


__all__ = ["io"]


def test_the_next_and_submit_cycle_costs_a_fixed_few_queries(
    django_assert_max_num_queries,
) -> None:
    """The hot path of the service: its query count is what the claim benchmark's rate rests on,
    and it must not grow with the project or the person's history."""
    project = project_with_tasks(
        30, overlap=3, pay_model="per_task", task_minutes=6, pay_rate=Decimal("30")
    )
    client = api_for(worker(project))

    def cycle() -> None:
        # The seat (with the form and the settings) and the claim as one statement; the test's
        # transaction adds a savepoint around the claim (SQLite: lock, insert, count instead).
        with django_assert_max_num_queries(4 if connection.vendor == "postgresql" else 7):
            taken = client.post(reverse("task-next", args=[project.pk])).json()
        task = Task.objects.get(pk=taken["task"]["id"])
        # lock, submission, rationale index (lookup, insert), status, counts, pay
        with django_assert_max_num_queries(12):
            answered = client.post(
                reverse("assignment-submit", args=[taken["id"]]),
                {"answers": good_answers(task)},
                format="json",
            )
        assert answered.status_code == 201

    for _ in range(5):
        cycle()
    assert Submission.objects.count() == 5
    assert EarningEntry.objects.count() == 5
