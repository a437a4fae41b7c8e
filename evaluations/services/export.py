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
from itertools import islice
from typing import Any

import orjson

from evaluations.models import AggregateResult, CodeRun, EvaluationForm, Submission, Task
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


def _task_chunks(project: Project, *fields: str) -> Iterator[list[tuple[Any, ...]]]:
    """The project's tasks in id order as plain tuples (the id, then `fields`), CHUNK at a time.

    One server-side cursor, read CHUNK rows at a time. Not keyset paging (id > the last one,
    LIMIT CHUNK): with no index on (project, id) the planner may read all of the project's
    remaining tasks for each page."""
    rows = (
        Task.objects.filter(project=project)
        .order_by("pk")
        .values_list("pk", *fields)
        .iterator(chunk_size=CHUNK)
    )
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def _chunks(
    project: Project, task_fields: tuple[str, ...], submission_fields: tuple[str, ...]
) -> Iterator[tuple[list[tuple[Any, ...]], dict[int, list[tuple[Any, ...]]]]]:
    """The project's tasks in id order, a chunk at a time, each chunk with its tasks' accepted
    submissions in id order by task id: plain tuples, the id first, then the fields asked for.

    Two queries a chunk. Plain values rather than model instances, which cost most of an
    export's time (a task's and a submission's every JSON field decoded, the form's schema
    with each submission)."""
    for tasks in _task_chunks(project, *task_fields):
        by_task: dict[int, list[tuple[Any, ...]]] = {}
        accepted = (
            Submission.objects.filter(
                task_id__in=[task[0] for task in tasks], status=Submission.Status.ACCEPTED
            )
            .order_by("pk")
            .values_list("task_id", "pk", *submission_fields)
        )
        for task_id, *submission in accepted:
            by_task.setdefault(task_id, []).append(tuple(submission))
        yield tasks, by_task


class _Forms(dict):
    """The parsed schema of each form version met in one export, read and parsed once."""

    def of(self, form_id: int) -> Any:
        found = self.get(form_id)
        if found is None:
            found = self[form_id] = form_schema(EvaluationForm.objects.get(pk=form_id))
        return found


def _texts(responses: list[dict[str, Any]]) -> dict[str, str]:
    return {response["id"]: response["text"] for response in responses}


def raw_rows(project: Project) -> Iterator[dict[str, Any]]:
    """Every task with its accepted submissions and their code runs; three queries a chunk."""
    chunks = _chunks(
        project,
        ("external_id", "prompt", "responses", "metadata"),
        (
            "contributor_id",
            "form__version",
            "answers",
            "response_order",
            "prelabel_usage",
            "active_seconds",
            "created_at",
            "assignment_id",
        ),
    )
    for tasks, submissions in chunks:
        runs: dict[int, list[dict[str, Any]]] = {}
        assignment_ids = [s[-1] for of_task in submissions.values() for s in of_task]
        if assignment_ids:
            # Newest first: CodeRun's Meta ordering, which the prefetch of code_runs followed.
            for assignment_id, source, passed in (
                CodeRun.objects.filter(assignment_id__in=assignment_ids)
                .order_by("-created_at")
                .values_list("assignment_id", "source", "passed")
            ):
                runs.setdefault(assignment_id, []).append({"source": source, "passed": passed})
        for task_id, external_id, prompt, responses, metadata in tasks:
            yield {
                "task_id": task_id,
                "external_id": external_id,
                "prompt": prompt,
                "responses": responses,
                "metadata": metadata,
                "submissions": [
                    {
                        "submission_id": submission_id,
                        "contributor": contributor,
                        "form_version": form_version,
                        "answers": answers,
                        "response_order": response_order,
                        "prelabel_usage": prelabel_usage,
                        "active_seconds": active_seconds,
                        "code_runs": runs.get(assignment_id, []),
                        "created_at": created_at.isoformat(),
                    }
                    for (
                        submission_id,
                        contributor,
                        form_version,
                        answers,
                        response_order,
                        prelabel_usage,
                        active_seconds,
                        created_at,
                        assignment_id,
                    ) in submissions.get(task_id, ())
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
    for tasks, by_task in _chunks(project, ("external_id", "responses"), ("form_id", "answers")):
        aggregates: dict[int, list[tuple[Any, ...]]] = {}
        # No order asked for, as the prefetch of task.aggregates asked for none.
        for task_id, *row in AggregateResult.objects.filter(
            task_id__in=[task[0] for task in tasks]
        ).values_list("task_id", "question", "method", "value", "confidence", "n"):
            aggregates.setdefault(task_id, []).append(tuple(row))
        for task_id, external_id, responses in tasks:
            submissions = by_task.get(task_id, [])
            given_answers = [answers for _, _, answers in submissions]
            result: dict[str, Any] = {}
            for _, form_id, _ in submissions[:1]:
                for question in forms.of(form_id).questions:
                    given = [a[question.name] for a in given_answers if question.name in a]
                    if not given:
                        continue
                    if question.type == "rating" and question.per_response:
                        result[question.name] = {
                            rid: round(statistics.fmean(g[rid] for g in given if rid in g), 4)
                            for rid in _texts(responses)
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
            for question_name, method, value, confidence, n in aggregates.get(task_id, ()):
                aggregated.setdefault(question_name, {})[method] = {
                    "value": value,
                    "confidence": confidence,
                    "n": n,
                }
            yield {
                "task_id": task_id,
                "external_id": external_id,
                "submissions": len(submissions),
                "result": result,
                "aggregates": aggregated,
            }


def preference_rows(project: Project) -> Iterator[dict[str, Any]]:
    forms = _Forms()
    for tasks, by_task in _chunks(project, ("prompt", "responses"), ("form_id", "answers")):
        for task_id, prompt, responses in tasks:
            texts = _texts(responses)
            for submission_id, form_id, answers in by_task.get(task_id, ()):
                for question in forms.of(form_id).questions:
                    answer = answers.get(question.name)
                    if question.type == "preference" and answer and answer.get("choice") in texts:
                        chosen = answer["choice"]
                        for other in texts:
                            if other != chosen:
                                yield {
                                    "prompt": prompt,
                                    "chosen": texts[chosen],
                                    "rejected": texts[other],
                                    "task_id": task_id,
                                    "submission_id": submission_id,
                                }
                    elif question.type == "ranking" and answer:
                        for better_index, better in enumerate(answer):
                            for worse in answer[better_index + 1 :]:
                                yield {
                                    "prompt": prompt,
                                    "chosen": texts[better],
                                    "rejected": texts[worse],
                                    "task_id": task_id,
                                    "submission_id": submission_id,
                                }


def rewrite_rows(project: Project) -> Iterator[dict[str, Any]]:
    forms = _Forms()
    for tasks, by_task in _chunks(project, ("prompt",), ("form_id", "answers")):
        for task_id, prompt in tasks:
            for submission_id, form_id, answers in by_task.get(task_id, ()):
                for question in forms.of(form_id).questions:
                    text = answers.get(question.name)
                    if question.type == "free_text" and question.role == "rewrite" and text:
                        yield {
                            "prompt": prompt,
                            "completion": text,
                            "task_id": task_id,
                            "submission_id": submission_id,
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
