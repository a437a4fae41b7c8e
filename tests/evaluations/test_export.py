"""Exports, read back: raw, per-task results, preference pairs and rewrites, as JSONL and CSV."""

import csv
import io
from datetime import UTC, datetime

import orjson
import pytest

from evaluations.models import CodeRun, Submission
from evaluations.services import (
    aggregation_request,
    aggregation_run,
    assignment_next,
    export_stream,
    submission_submit,
)
from evaluations.services import export as export_module
from tests.evaluations.helpers import FORM, project_with_tasks, worker

pytestmark = pytest.mark.django_db

REWRITE_FORM = {
    "questions": [
        *FORM["questions"],
        {
            "name": "rewrite",
            "type": "free_text",
            "prompt": "Rewrite the worse one.",
            "role": "rewrite",
            "required": False,
        },
    ]
}


def worked_project():
    """Two tasks, two people each; both prefer response a, rate a 6 and b 3 (one rates b 4)."""
    project = project_with_tasks(2, overlap=2, form=REWRITE_FORM)
    for index, person in enumerate([worker(project), worker(project)]):
        for _ in range(2):
            assignment = assignment_next(project_id=project.pk, user=person)
            answers = {
                "helpfulness": {"a": 6, "b": 3 + index},
                "better": {"choice": "a", "strength": 2},
                "rationale": "A answers the question that was asked.",
                "rewrite": '=HYPERLINK("http://evil") a better answer' if index else "",
            }
            submission_submit(assignment_id=assignment.pk, user=person, answers=answers)
    return project


def jsonl_rows(project, kind: str) -> list[dict]:
    data = b"".join(export_stream(project=project, kind=kind, fmt="jsonl"))
    return [orjson.loads(line) for line in data.splitlines()]


def csv_rows(project, kind: str) -> list[dict]:
    data = b"".join(export_stream(project=project, kind=kind, fmt="csv")).decode()
    return list(csv.DictReader(io.StringIO(data)))


def test_raw_export_holds_every_task_with_all_its_submissions() -> None:
    rows = jsonl_rows(worked_project(), "raw")
    assert [row["external_id"] for row in rows] == ["t0", "t1"]
    assert [len(row["submissions"]) for row in rows] == [2, 2]
    first = rows[0]["submissions"][0]
    assert set(first) == {
        "submission_id",
        "contributor",
        "form_version",
        "answers",
        "response_order",
        "prelabel_usage",
        "active_seconds",
        "code_runs",
        "created_at",
    }
    assert first["answers"]["better"] == {"choice": "a", "strength": 2}


def test_results_give_the_mean_rating_and_the_majority_choice() -> None:
    rows = jsonl_rows(worked_project(), "results")
    assert rows[0]["submissions"] == 2
    assert rows[0]["result"]["helpfulness"] == {"a": 6.0, "b": 3.5}
    assert rows[0]["result"]["better"] == "a"


def test_results_carry_the_aggregation_jobs_results_once_it_has_run() -> None:
    project = worked_project()
    assert jsonl_rows(project, "results")[0]["aggregates"] == {}
    run = aggregation_request(project_id=project.pk, actor=None)
    aggregation_run(run_id=run.pk)
    rows = jsonl_rows(project, "results")
    better = rows[0]["aggregates"]["better"]
    assert better["majority"] == {"value": "a", "confidence": 1.0, "n": 2}
    assert better["dawid_skene"]["value"] == "a"
    helpfulness = rows[0]["aggregates"]["helpfulness"]["mean"]["value"]
    assert helpfulness["b"] == {"mean": 3.5, "median": 3.5, "spread": 0.5}
    assert (
        orjson.loads(csv_rows(project, "results")[0]["aggregates"])["better"]["majority"]["value"]
        == "a"
    )


def test_preference_pairs_are_prompt_chosen_rejected() -> None:
    rows = jsonl_rows(worked_project(), "preferences")
    assert len(rows) == 4  # 2 tasks × 2 people × 1 pair
    assert {key: rows[0][key] for key in ("prompt", "chosen", "rejected")} == {
        "prompt": "Question number 0?",
        "chosen": "Answer A to 0",
        "rejected": "Answer B to 0",
    }


def test_rewrites_are_prompt_completion_pairs() -> None:
    rows = jsonl_rows(worked_project(), "rewrites")
    assert [(row["prompt"], row["completion"][:10]) for row in rows] == [
        ("Question number 0?", "=HYPERLINK"),
        ("Question number 1?", "=HYPERLINK"),
    ]


def test_csv_exports_read_back_and_neutralise_formulas() -> None:
    project = worked_project()
    rewrites = csv_rows(project, "rewrites")
    assert [row["completion"][:11] for row in rewrites] == ["'=HYPERLINK", "'=HYPERLINK"]
    preferences = csv_rows(project, "preferences")
    assert (len(preferences), preferences[0]["chosen"]) == (4, "Answer A to 0")
    raw = csv_rows(project, "raw")
    assert orjson.loads(raw[0]["responses"])[0]["id"] == "a"


SUBMISSION_KEYS = [
    "submission_id",
    "contributor",
    "form_version",
    "answers",
    "response_order",
    "prelabel_usage",
    "active_seconds",
    "code_runs",
    "created_at",
]


def test_raw_row_holds_the_accepted_submissions_in_order_with_their_code_runs() -> None:
    project = project_with_tasks(1, overlap=3)
    first, left_out, last = [
        submission_submit(
            assignment_id=assignment_next(project_id=project.pk, user=person).pk,
            user=person,
            answers={
                "helpfulness": {"a": 6, "b": 2 + n},
                "better": {"choice": "a", "strength": 2},
                "rationale": "A answers the question that was asked.",
            },
        )
        for n, person in enumerate([worker(project), worker(project), worker(project)])
    ]
    Submission.objects.filter(pk=first.pk).update(
        response_order=["b", "a"],
        active_seconds=42,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    Submission.objects.filter(pk=left_out.pk).update(status=Submission.Status.REJECTED)
    Submission.objects.filter(pk=last.pk).update(
        response_order=["a", "b"], active_seconds=7, created_at=datetime(2026, 1, 3, tzinfo=UTC)
    )
    for assignment_id, source, passed, day in [
        (first.assignment_id, "a", True, 1),
        (first.assignment_id, "own", False, 2),
        (left_out.assignment_id, "b", None, 1),
    ]:
        CodeRun.objects.create(
            assignment_id=assignment_id,
            code="print(1)",
            source=source,
            passed=passed,
            created_at=datetime(2026, 1, day, tzinfo=UTC),
        )

    (row,) = jsonl_rows(project, "raw")

    assert row == {
        "task_id": first.task_id,
        "external_id": "t0",
        "prompt": "Question number 0?",
        "responses": [
            {"id": "a", "text": "Answer A to 0", "model": "m1"},
            {"id": "b", "text": "Answer B to 0", "model": "m2"},
        ],
        "metadata": {},
        "submissions": [
            {
                "submission_id": first.pk,
                "contributor": first.contributor_id,
                "form_version": 1,
                "answers": {
                    "helpfulness": {"a": 6, "b": 2},
                    "better": {"choice": "a", "strength": 2},
                    "rationale": "A answers the question that was asked.",
                },
                "response_order": ["b", "a"],
                "prelabel_usage": {},
                "active_seconds": 42,
                "code_runs": [
                    {"source": "own", "passed": False},
                    {"source": "a", "passed": True},
                ],
                "created_at": "2026-01-02T03:04:05.678901+00:00",
            },
            {
                "submission_id": last.pk,
                "contributor": last.contributor_id,
                "form_version": 1,
                "answers": {
                    "helpfulness": {"a": 6, "b": 4},
                    "better": {"choice": "a", "strength": 2},
                    "rationale": "A answers the question that was asked.",
                },
                "response_order": ["a", "b"],
                "prelabel_usage": {},
                "active_seconds": 7,
                "code_runs": [],
                "created_at": "2026-01-03T00:00:00+00:00",
            },
        ],
    }
    # The keys' order too (within answers and the like it is the database's: jsonb sorts them).
    assert [
        list(row),
        *map(list, row["submissions"]),
        list(row["submissions"][0]["code_runs"][0]),
    ] == [
        ["task_id", "external_id", "prompt", "responses", "metadata", "submissions"],
        *[SUBMISSION_KEYS] * 2,
        ["source", "passed"],
    ]


def test_raw_csv_carries_the_same_submissions_as_the_jsonl() -> None:
    project = worked_project()
    submissions = [row["submissions"] for row in jsonl_rows(project, "raw")]
    assert [orjson.loads(row["submissions"]) for row in csv_rows(project, "raw")] == submissions


@pytest.mark.parametrize(
    ("kind", "per_chunk", "once"),
    [
        ("raw", 2, 0),  # submissions, their code runs
        ("results", 2, 1),  # submissions, aggregates; the form
        ("preferences", 1, 1),  # submissions; the form
        ("rewrites", 1, 1),
    ],
)
def test_exports_read_a_fixed_number_of_queries_per_chunk(
    kind, per_chunk, once, monkeypatch, django_assert_num_queries
) -> None:
    project = project_with_tasks(5, form=REWRITE_FORM)
    person = worker(project)
    for _ in range(5):
        assignment = assignment_next(project_id=project.pk, user=person)
        answers = {
            "helpfulness": {"a": 6, "b": 3},
            "better": {"choice": "a", "strength": 2},
            "rationale": "A answers the question that was asked.",
            "rewrite": "A better answer.",
        }
        submission_submit(assignment_id=assignment.pk, user=person, answers=answers)
    monkeypatch.setattr(export_module, "CHUNK", 2)

    # The tasks' cursor, then 3 chunks of 2, 2 and 1 tasks.
    with django_assert_num_queries(1 + 3 * per_chunk + once):
        data = b"".join(export_stream(project=project, kind=kind, fmt="jsonl"))

    assert data.count(b"\n") == 5
