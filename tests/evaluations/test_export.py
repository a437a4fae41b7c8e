"""Exports, read back: raw, per-task results, preference pairs and rewrites, as JSONL and CSV."""

import csv
import io

import orjson
import pytest

from evaluations.services import (
    aggregation_request,
    aggregation_run,
    assignment_next,
    export_stream,
    submission_submit,
)
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
