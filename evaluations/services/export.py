"""Streaming exports of a project's work as training data, in constant memory.

Kinds:
    raw          every task with all its submissions
    results      per task, per question: the mean (ratings) or the majority (choices, labels)
    preferences  {"prompt", "chosen", "rejected"} pairs, for reward models and DPO
    rewrites     {"prompt", "completion"} pairs from rewrite questions, for fine-tuning

Formats: jsonl, csv. Cells of a CSV that start with = + - @ (or a tab or carriage return) are
prefixed with a quote so that a spreadsheet never runs them as formulas.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from django.db.models import Prefetch

from evaluations.models import Submission, Task
from evaluations.selectors import form_schema
from marketplace.models import Project

KINDS = ("raw", "results", "preferences", "rewrites")
CHUNK = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else orjson.dumps(value).decode()
        if isinstance(value, dict | list)
        else str(value)
    )
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _tasks(project: Project, *, aggregates: bool = False, runs: bool = False) -> Iterator[Task]:
    """The project's tasks in id order with their accepted submissions (and, when asked, the
    submissions' code runs and the tasks' aggregated results), a chunk at a time."""
    accepted = Submission.objects.filter(status=Submission.Status.ACCEPTED).order_by("pk")
    if runs:
        accepted = accepted.select_related("form", "assignment").prefetch_related(
            "assignment__code_runs"
        )
    else:
        accepted = accepted.select_related("form")
    tasks = (
        Task.objects.filter(project=project)
        .order_by("pk")
        .prefetch_related(Prefetch("submissions", queryset=accepted))
    )
    if aggregates:
        tasks = tasks.prefetch_related("aggregates")
    yield from tasks.iterator(chunk_size=CHUNK)


class _Forms(dict):
    """The parsed schema of each form version met in one export, parsed once."""

    def of(self, submission: Submission) -> Any:
        found = self.get(submission.form_id)
        if found is None:
            found = self[submission.form_id] = form_schema(submission.form)
        return found


def _texts(task: Task) -> dict[str, str]:
    return {response["id"]: response["text"] for response in task.responses}


def raw_rows(project: Project) -> Iterator[dict[str, Any]]:
    for task in _tasks(project, runs=True):
        yield {
            "task_id": task.pk,
            "external_id": task.external_id,
            "prompt": task.prompt,
            "responses": task.responses,
            "metadata": task.metadata,
            "submissions": [
                {
                    "submission_id": s.pk,
                    "contributor": s.contributor_id,
                    "form_version": s.form.version,
                    "answers": s.answers,
                    "response_order": s.response_order,
                    "prelabel_usage": s.prelabel_usage,
                    "active_seconds": s.active_seconds,
                    "code_runs": [
                        {"source": run.source, "passed": run.passed}
                        for run in s.assignment.code_runs.all()
                    ],
                    "created_at": s.created_at.isoformat(),
                }
                for s in task.submissions.all()
            ],
        }


def _majority(values: list[Any]) -> Any:
    counted = Counter(orjson.dumps(value, option=orjson.OPT_SORT_KEYS) for value in values)
    (best, count), *rest = counted.most_common()
    if rest and rest[0][1] == count:
        return None  # no majority
    return orjson.loads(best)


def results_rows(project: Project) -> Iterator[dict[str, Any]]:
    """Per task: a simple result from the accepted answers (mean, or majority), and the
    aggregation job's stored results by method (majority, Dawid–Skene with its posterior,
    mean/median/spread) when it has run."""
    forms = _Forms()
    for task in _tasks(project, aggregates=True):
        submissions = list(task.submissions.all())
        result: dict[str, Any] = {}
        for submission in submissions[:1]:
            form = forms.of(submission)
            for question in form.questions:
                given = [
                    s.answers[question.name] for s in submissions if question.name in s.answers
                ]
                if not given:
                    continue
                if question.type == "rating" and question.per_response:
                    result[question.name] = {
                        rid: round(statistics.fmean(g[rid] for g in given if rid in g), 4)
                        for rid in _texts(task)
                        if any(rid in g for g in given)
                    }
                elif question.type == "rating":
                    result[question.name] = round(statistics.fmean(given), 4)
                elif question.type == "preference":
                    result[question.name] = _majority([g["choice"] for g in given])
                elif question.type in ("single_label", "multi_label", "ranking"):
                    result[question.name] = _majority(given)
                else:
                    result[question.name] = given
        aggregated: dict[str, dict[str, Any]] = {}
        for row in task.aggregates.all():
            aggregated.setdefault(row.question, {})[row.method] = {
                "value": row.value,
                "confidence": row.confidence,
                "n": row.n,
            }
        yield {
            "task_id": task.pk,
            "external_id": task.external_id,
            "submissions": len(submissions),
            "result": result,
            "aggregates": aggregated,
        }


def preference_rows(project: Project) -> Iterator[dict[str, Any]]:
    forms = _Forms()
    for task in _tasks(project):
        texts = _texts(task)
        for submission in task.submissions.all():
            form = forms.of(submission)
            for question in form.questions:
                answer = submission.answers.get(question.name)
                if question.type == "preference" and answer and answer.get("choice") in texts:
                    chosen = answer["choice"]
                    for other in texts:
                        if other != chosen:
                            yield {
                                "prompt": task.prompt,
                                "chosen": texts[chosen],
                                "rejected": texts[other],
                                "task_id": task.pk,
                                "submission_id": submission.pk,
                            }
                elif question.type == "ranking" and answer:
                    for better_index, better in enumerate(answer):
                        for worse in answer[better_index + 1 :]:
                            yield {
                                "prompt": task.prompt,
                                "chosen": texts[better],
                                "rejected": texts[worse],
                                "task_id": task.pk,
                                "submission_id": submission.pk,
                            }


def rewrite_rows(project: Project) -> Iterator[dict[str, Any]]:
    forms = _Forms()
    for task in _tasks(project):
        for submission in task.submissions.all():
            for question in forms.of(submission).questions:
                text = submission.answers.get(question.name)
                if question.type == "free_text" and question.role == "rewrite" and text:
                    yield {
                        "prompt": task.prompt,
                        "completion": text,
                        "task_id": task.pk,
                        "submission_id": submission.pk,
                    }


ROWS = {
    "raw": raw_rows,
    "results": results_rows,
    "preferences": preference_rows,
    "rewrites": rewrite_rows,
}
CSV_COLUMNS = {
    "raw": ["task_id", "external_id", "prompt", "responses", "metadata", "submissions"],
    "results": ["task_id", "external_id", "submissions", "result", "aggregates"],
    "preferences": ["prompt", "chosen", "rejected", "task_id", "submission_id"],
    "rewrites": ["prompt", "completion", "task_id", "submission_id"],
}


def export_stream(*, project: Project, kind: str, fmt: str) -> Iterable[bytes]:
    """Yield the export as bytes, a chunk at a time."""
    rows = ROWS[kind](project)
    if fmt == "jsonl":
        for row in rows:
            yield orjson.dumps(row) + b"\n"
        return
    columns = CSV_COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for number, row in enumerate(rows, start=1):
        writer.writerow([csv_safe(row.get(column, "")) for column in columns])
        if number % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
