"""Importing tasks: every line checked; bad lines named by number and field; all or nothing."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluations.errors import ImportInvalid, NoForm
from evaluations.models import PreLabel, Task
from evaluations.services import tasks_import
from tests.evaluations.helpers import jsonl, project_with_tasks, task_line
from tests.marketplace.helpers import make_project

pytestmark = pytest.mark.django_db


def test_a_good_file_imports_every_task_with_its_prelabels() -> None:
    project = project_with_tasks(0, overlap=3)
    lines = [
        task_line(1, priority=5, metadata={"source": "arena"}, reference="Paris is the capital."),
        task_line(
            2,
            prelabels=[
                {
                    "question": "better",
                    "value": {"choice": "b", "strength": 1},
                    "model": "judge-1",
                    "score": 0.7,
                }
            ],
        ),
        {"prompt": "Plain strings are fine", "responses": ["one", "two"]},
    ]
    result = tasks_import(project_id=project.pk, handle=jsonl(lines), fmt="jsonl")
    assert (result.lines, result.imported, result.invalid) == (3, 3, 0)
    first = Task.objects.get(external_id="t1")
    assert (first.priority, first.overlap, first.response_count, first.metadata) == (
        5,
        3,
        2,
        {"source": "arena"},
    )
    plain = Task.objects.get(prompt="Plain strings are fine")
    assert plain.responses == [
        {"id": "r1", "text": "one", "model": ""},
        {"id": "r2", "text": "two", "model": ""},
    ]
    label = PreLabel.objects.get()
    assert (label.task.external_id, label.question, label.value, label.model_name, label.score) == (
        "t2",
        "better",
        {"choice": "b", "strength": 1},
        "judge-1",
        0.7,
    )


BAD = [
    (b'{"prompt": "broken", ', "line", "not valid JSON"),
    ({"responses": [{"text": "a"}, {"text": "b"}]}, "prompt", "is required"),
    (
        {"prompt": "One answer", "responses": [{"text": "only"}]},
        "responses",
        "at least 2 response(s)",
    ),
    (
        {
            "prompt": "x",
            "responses": ["a", "b"],
            "prelabels": [{"question": "helpfulness", "value": {"r1": 12}}],
        },
        "prelabels.0.value",
        "Rate from 1 to 7",
    ),
    (
        {"prompt": "x", "responses": ["a", "b"], "prelabels": [{"question": "mood", "value": 1}]},
        "prelabels.0.question",
        "not a question",
    ),
    ({"prompt": "x", "responses": ["a", "b"], "colour": "red"}, "colour", "is not a task field"),
    ({"prompt": "x", "responses": ["a", "b"], "priority": "high"}, "priority", "whole number"),
    ({"prompt": "x\u0000", "responses": ["a", "b"]}, "prompt", "NUL"),
    ([1, 2], "line", "must be a JSON object"),
]


@pytest.mark.parametrize(
    ("line", "field", "problem"), BAD, ids=[case[1] + "-" + case[2][:12] for case in BAD]
)
def test_a_bad_line_is_named_and_nothing_is_imported(
    line: object, field: str, problem: str
) -> None:
    project = project_with_tasks(0)
    with pytest.raises(ImportInvalid) as caught:
        tasks_import(
            project_id=project.pk, handle=jsonl([task_line(1), line, task_line(3)]), fmt="jsonl"
        )
    [(key, messages)] = caught.value.fields.items()
    assert key == f"line 2.{field}"
    assert problem in messages[0]
    assert Task.objects.count() == 0


def test_every_bad_line_is_reported_not_only_the_first() -> None:
    project = project_with_tasks(0)
    with pytest.raises(ImportInvalid) as caught:
        tasks_import(
            project_id=project.pk,
            handle=jsonl([b"{", task_line(2), b"[", {"prompt": ""}]),
            fmt="jsonl",
        )
    assert sorted(caught.value.fields) == ["line 1.line", "line 3.line", "line 4.prompt"]
    assert caught.value.result.invalid == 3


def test_skip_invalid_imports_the_good_lines_and_reports_the_rest() -> None:
    project = project_with_tasks(0)
    result = tasks_import(
        project_id=project.pk,
        handle=jsonl([task_line(1), b"nope", task_line(3)]),
        fmt="jsonl",
        skip_invalid=True,
    )
    assert (result.imported, result.invalid) == (2, 1)
    assert result.errors[0]["line"] == 2
    assert sorted(Task.objects.values_list("external_id", flat=True)) == ["t1", "t3"]


def test_a_repeated_external_id_is_a_bad_line_in_the_file_and_across_imports() -> None:
    project = project_with_tasks(0)
    with pytest.raises(ImportInvalid) as caught:
        tasks_import(
            project_id=project.pk,
            handle=jsonl([task_line(1), task_line(2), task_line(1)]),
            fmt="jsonl",
        )
    assert caught.value.fields == {"line 3.external_id": ["'t1' is already used (line 1)"]}
    assert Task.objects.count() == 0
    tasks_import(project_id=project.pk, handle=jsonl([task_line(1)]), fmt="jsonl")
    with pytest.raises(ImportInvalid) as again:
        tasks_import(project_id=project.pk, handle=jsonl([task_line(1)]), fmt="jsonl")
    assert again.value.fields == {
        "line 1.external_id": ["'t1' is already used (an earlier import)"]
    }


def test_a_project_without_a_form_refuses_imports() -> None:
    with pytest.raises(NoForm):
        tasks_import(project_id=make_project().pk, handle=jsonl([task_line(1)]), fmt="jsonl")


def test_csv_imports_with_numbered_response_columns() -> None:
    project = project_with_tasks(0)
    text = (
        "external_id,prompt,response_1,model_1,response_2,model_2,priority,metadata\n"
        'c1,"Is water wet?","Yes, in common use.",m1,"No.",m2,3,"{""lang"": ""en""}"\n'
        "c2,,only,m1,one,m2,,\n"
    )
    with pytest.raises(ImportInvalid) as caught:
        tasks_import(project_id=project.pk, handle=io.BytesIO(text.encode()), fmt="csv")
    assert caught.value.fields == {"line 3.prompt": ["is required"]}
    result = tasks_import(
        project_id=project.pk, handle=io.BytesIO(text.encode()), fmt="csv", skip_invalid=True
    )
    assert result.imported == 1
    task = Task.objects.get()
    assert (
        task.external_id,
        task.priority,
        task.metadata,
        [r["model"] for r in task.responses],
    ) == (
        "c1",
        3,
        {"lang": "en"},
        ["m1", "m2"],
    )


def test_the_command_names_bad_lines_and_imports_nothing(tmp_path) -> None:
    project = project_with_tasks(0)
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(jsonl([task_line(1), {"prompt": ""}]).getvalue())
    with pytest.raises(CommandError, match=r"line 2\.prompt: is required"):
        call_command("tasks_import", str(project.pk), str(path))
    assert Task.objects.count() == 0
    call_command("tasks_import", str(project.pk), str(path), "--skip-invalid")
    assert Task.objects.count() == 1


def test_prelabels_can_be_added_afterwards_all_or_nothing() -> None:
    from evaluations.services import prelabels_import

    project = project_with_tasks(2)
    good = {
        "external_id": "t0",
        "question": "better",
        "value": {"choice": "a", "strength": 3},
        "model": "judge",
        "score": 0.9,
    }
    with pytest.raises(ImportInvalid) as caught:
        prelabels_import(
            project_id=project.pk,
            handle=jsonl(
                [
                    good,
                    {"external_id": "nope", "question": "better", "value": {"choice": "a"}},
                    {"external_id": "t1", "question": "helpfulness", "value": {"a": 99}},
                ]
            ),
        )
    assert set(caught.value.fields) == {"line 2.external_id", "line 3.value"}
    assert not PreLabel.objects.exists()
    result = prelabels_import(project_id=project.pk, handle=jsonl([good]))
    assert result.imported == 1
    label = PreLabel.objects.get()
    assert (label.task.external_id, label.value, label.model_name, label.score) == (
        "t0",
        {"choice": "a", "strength": 3},
        "judge",
        0.9,
    )
