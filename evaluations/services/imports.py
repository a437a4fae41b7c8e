"""Importing tasks (and AI pre-labels) from JSONL or CSV: every line checked, all or nothing.

A file streams through in batches, so memory stays flat whatever its size. On PostgreSQL the
checked rows are copied (COPY) into a temporary staging table, where duplicate external ids are
found by SQL, and then moved into the task table in one statement; elsewhere they are written
with bulk inserts. Everything happens in one transaction: a file with bad lines imports nothing
unless `skip_invalid` is set, and then only the good lines.

A JSONL line (or a CSV row: `prompt`, `response_1`…, `model_1`…, `external_id`, `reference`,
`code`, `tests`, `priority`, `metadata` as JSON):

    {"external_id": "q-17", "prompt": "…", "responses": [{"id": "a", "text": "…", "model": "m"}],
     "conversation": [{"role": "user", "content": "…"}], "code": "…", "tests": "…",
     "reference": "…", "metadata": {…}, "priority": 0,
     "prelabels": [{"question": "helpfulness", "value": {"a": 5}, "model": "m", "score": 0.8}]}
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from django.db import connection, models, transaction
from django.utils import timezone

from common.errors import NotFound
from evaluations.answers import answers_check
from evaluations.errors import ImportInvalid, NoForm
from evaluations.models import PreLabel, Task
from evaluations.schema import Form
from evaluations.selectors import form_current, form_schema, settings_for
from marketplace.models import Project

logger = logging.getLogger(__name__)

BATCH = 5000
ERRORS_KEPT = 100
KEYS = {
    "external_id",
    "prompt",
    "conversation",
    "responses",
    "code",
    "tests",
    "reference",
    "metadata",
    "priority",
    "prelabels",
}
TEXT_LIMIT = 1_000_000


@dataclass
class ImportResult:
    lines: int = 0
    imported: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, line: int, where: str, problem: str) -> None:
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({"line": line, "field": where, "problem": problem})


class LineProblem(Exception):
    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


def _text(raw: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = raw.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise LineProblem(key, "must be text")
    if "\x00" in value:
        raise LineProblem(key, "contains a NUL character")
    if len(value) > TEXT_LIMIT:
        raise LineProblem(key, f"is longer than {TEXT_LIMIT:,} characters")
    if required and not value.strip():
        raise LineProblem(key, "is required")
    return value


class LineChecker:
    """Check one task line against the project's form; return the row and its pre-labels."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.min_responses = form.min_responses()
        self.needs_code = form.needs_code()
        self.questions = {question.name: question for question in form.questions}

    def check(self, raw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if not isinstance(raw, dict):
            raise LineProblem("line", "must be a JSON object")
        unknown = sorted(set(raw) - KEYS)
        if unknown:
            raise LineProblem(unknown[0], "is not a task field")
        conversation = raw.get("conversation") or []
        if not isinstance(conversation, list) or not all(
            isinstance(turn, dict) and isinstance(turn.get("content"), str) for turn in conversation
        ):
            raise LineProblem("conversation", 'must be a list of {"role", "content"}')
        prompt = _text(raw, "prompt")
        if not prompt.strip() and conversation:
            prompt = next(
                (t["content"] for t in reversed(conversation) if t.get("role") == "user"), ""
            )
        if not prompt.strip():
            raise LineProblem("prompt", "is required")
        responses = raw.get("responses") or []
        if not isinstance(responses, list):
            raise LineProblem("responses", "must be a list")
        clean_responses = []
        for index, response in enumerate(responses):
            if isinstance(response, str):
                response = {"text": response}
            if (
                not isinstance(response, dict)
                or not isinstance(response.get("text"), str)
                or not response["text"].strip()
            ):
                raise LineProblem(f"responses.{index}.text", "is required")
            rid = str(response.get("id") or f"r{index + 1}")
            clean_responses.append(
                {"id": rid, "text": response["text"], "model": str(response.get("model") or "")}
            )
        if len({response["id"] for response in clean_responses}) != len(clean_responses):
            raise LineProblem("responses", "ids must be unique")
        if len(clean_responses) < self.min_responses:
            raise LineProblem(
                "responses",
                f"the form needs at least {self.min_responses} response(s); this task has"
                f" {len(clean_responses)}",
            )
        code = _text(raw, "code")
        if self.needs_code and not code.strip():
            raise LineProblem("code", "is required: the form reviews code")
        priority = raw.get("priority", 0)
        if (
            not isinstance(priority, int)
            or isinstance(priority, bool)
            or not -1000 <= priority <= 1000
        ):
            raise LineProblem("priority", "must be a whole number from -1000 to 1000")
        metadata = raw.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise LineProblem("metadata", "must be an object")
        external_id = raw.get("external_id", "")
        if external_id is None:
            external_id = ""
        if not isinstance(external_id, str | int) or len(str(external_id)) > 200:
            raise LineProblem("external_id", "must be text of at most 200 characters")
        row = {
            "external_id": str(external_id),
            "prompt": prompt,
            "conversation": conversation,
            "responses": clean_responses,
            "response_count": len(clean_responses),
            "code": code,
            "tests": _text(raw, "tests"),
            "reference": _text(raw, "reference"),
            "metadata": metadata,
            "priority": priority,
        }
        prelabels = []
        for index, label in enumerate(raw.get("prelabels") or []):
            where = f"prelabels.{index}"
            if not isinstance(label, dict) or label.get("question") not in self.questions:
                raise LineProblem(f"{where}.question", "is not a question of the form")
            question = self.questions[label["question"]]
            single = Form.model_construct(questions=[question])
            _clean, problems = answers_check(
                form=single,
                responses=clean_responses,
                code=code,
                answers={question.name: label.get("value")},
                partial=True,
            )
            if problems or label.get("value") in (None, ""):
                message = next(iter(problems.values()))[0] if problems else "is required"
                raise LineProblem(f"{where}.value", message)
            score = label.get("score")
            if score is not None and (
                not isinstance(score, int | float) or isinstance(score, bool)
            ):
                raise LineProblem(f"{where}.score", "must be a number")
            prelabels.append(
                {
                    "question": question.name,
                    "value": label["value"],
                    "model": str(label.get("model") or ""),
                    "score": score,
                }
            )
        return row, prelabels


def _records(handle: BinaryIO, fmt: str) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed record or None, problem or None) for each record of the file."""
    if fmt == "jsonl":
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line), None
            except orjson.JSONDecodeError as error:
                yield number, None, f"not valid JSON ({error})"
        return
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="strict", newline="")
    reader = csv.DictReader(text)
    try:
        for record in reader:
            yield reader.line_num, _from_csv(record), None
    except (UnicodeDecodeError, csv.Error) as error:
        yield reader.line_num + 1, None, f"not readable CSV ({error})"


def _from_csv(record: dict[str, Any]) -> dict[str, Any]:
    """A CSV row as a task line: response_N and model_N columns become the responses."""
    if None in record:
        raise LineProblem("line", "has more cells than the header")
    raw: dict[str, Any] = {}
    responses: dict[int, dict[str, str]] = {}
    for key, value in record.items():
        if key.startswith("response_") and key[9:].isdigit():
            if value:
                responses.setdefault(int(key[9:]), {})["text"] = value
        elif key.startswith("model_") and key[6:].isdigit():
            if value:
                responses.setdefault(int(key[6:]), {})["model"] = value
        elif key in ("metadata", "prelabels", "conversation") and value:
            try:
                raw[key] = orjson.loads(value)
            except orjson.JSONDecodeError as error:
                raise LineProblem(key, f"is not valid JSON ({error})") from error
        elif key == "priority" and value:
            try:
                raw[key] = int(value)
            except ValueError as error:
                raise LineProblem("priority", "must be a whole number") from error
        elif value != "":
            raw[key] = value
    raw["responses"] = [responses[n] for n in sorted(responses)]
    return raw


class _Writer:
    """Buffers checked rows and writes them in batches."""

    def __init__(self, *, project: Project, overlap: int, job_id: int | None) -> None:
        self.project = project
        self.overlap = overlap
        self.job_id = job_id
        self.now = timezone.now()
        self.rows: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = []

    def add(self, line: int, row: dict[str, Any], prelabels: list[dict[str, Any]]) -> None:
        self.rows.append((line, row, prelabels))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        raise NotImplementedError

    def finish(self, result: ImportResult, *, skip_invalid: bool) -> int:
        raise NotImplementedError


class _OrmWriter(_Writer):
    """Bulk inserts, for databases other than PostgreSQL (the zero-setup SQLite)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: dict[str, int] = {}
        self.imported = 0
        self.duplicates: list[tuple[int, str, str]] = []

    def flush(self) -> None:
        batch, self.rows = self.rows, []
        keep = []
        existing = set(
            Task.objects.filter(
                project=self.project,
                external_id__in=[row["external_id"] for _, row, _ in batch if row["external_id"]],
            ).values_list("external_id", flat=True)
        )
        for line, row, prelabels in batch:
            key = row["external_id"]
            if key and (key in self.seen or key in existing):
                first = self.seen.get(key)
                where = f"line {first}" if first else "an earlier import"
                self.duplicates.append((line, "external_id", f"{key!r} is already used ({where})"))
                continue
            if key:
                self.seen[key] = line
            keep.append((row, prelabels))
        tasks = Task.objects.bulk_create(
            Task(
                project=self.project,
                overlap=self.overlap,
                import_job_id=self.job_id,
                created_at=self.now,
                has_prelabels=bool(prelabels),
                **row,
            )
            for row, prelabels in keep
        )
        PreLabel.objects.bulk_create(
            PreLabel(
                task=task,
                question=p["question"],
                value=p["value"],
                model_name=p["model"],
                score=p["score"],
            )
            for task, (_, prelabels) in zip(tasks, keep, strict=True)
            for p in prelabels
        )
        self.imported += len(tasks)

    def finish(self, result: ImportResult, *, skip_invalid: bool) -> int:
        self.flush()
        for line, where, problem in self.duplicates:
            result.invalid += 1
            result.add_error(line, where, problem)
        return self.imported


class _CopyWriter(_Writer):
    """PostgreSQL: COPY into temporary staging tables, then one INSERT … SELECT."""

    COLUMNS = (
        "line", "id", "external_id", "prompt", "conversation", "responses", "response_count",
        "code", "tests", "reference", "metadata", "priority", "has_prelabels",
    )  # fmt: skip

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with connection.cursor() as cursor:
            # Dropped at commit; dropped here too in case an enclosing transaction kept them.
            cursor.execute("DROP TABLE IF EXISTS import_tasks, import_prelabels")
            cursor.execute(
                "CREATE TEMPORARY TABLE import_tasks (line integer, id bigint, external_id text,"
                " prompt text, "
                "conversation jsonb, responses jsonb, response_count smallint, code text, tests"
                " text, "
                "reference text, metadata jsonb, priority smallint, has_prelabels boolean)"
                " ON COMMIT DROP"
            )
            cursor.execute(
                "CREATE TEMPORARY TABLE import_prelabels (task_id bigint, question text, value"
                " jsonb, "
                "model_name text, score double precision) ON COMMIT DROP"
            )
            cursor.execute("SELECT pg_get_serial_sequence('evaluations_task', 'id')")
            self.sequence = cursor.fetchone()[0]

    def flush(self) -> None:
        batch, self.rows = self.rows, []
        if not batch:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, len(batch)]
            )
            ids = [row[0] for row in cursor.fetchall()]
            raw = cursor.cursor
            with raw.copy(f"COPY import_tasks ({', '.join(self.COLUMNS)}) FROM STDIN") as copy:
                for task_id, (line, row, prelabels) in zip(ids, batch, strict=True):
                    copy.write_row(
                        (
                            line,
                            task_id,
                            row["external_id"],
                            row["prompt"],
                            orjson.dumps(row["conversation"]).decode(),
                            orjson.dumps(row["responses"]).decode(),
                            row["response_count"],
                            row["code"],
                            row["tests"],
                            row["reference"],
                            orjson.dumps(row["metadata"]).decode(),
                            row["priority"],
                            bool(prelabels),
                        )
                    )
            if any(prelabels for _, _, prelabels in batch):
                with raw.copy(
                    "COPY import_prelabels (task_id, question, value, model_name, score) FROM STDIN"
                ) as copy:
                    for task_id, (_, _, prelabels) in zip(ids, batch, strict=True):
                        for p in prelabels:
                            copy.write_row(
                                (
                                    task_id,
                                    p["question"],
                                    orjson.dumps(p["value"]).decode(),
                                    p["model"],
                                    p["score"],
                                )
                            )

    def finish(self, result: ImportResult, *, skip_invalid: bool) -> int:
        self.flush()
        with connection.cursor() as cursor:
            # An external id may appear once in a project: later copies in the file, and ids
            # an earlier import used, are bad lines.
            cursor.execute(
                "SELECT line, external_id, first_line FROM ("
                " SELECT line, external_id, min(line) OVER (PARTITION BY external_id) AS first_line"
                " FROM import_tasks WHERE external_id <> '') AS numbered WHERE line <> first_line"
                " UNION ALL SELECT s.line, s.external_id, NULL FROM import_tasks s JOIN"
                " evaluations_task t"
                " ON t.project_id = %s AND t.external_id = s.external_id AND s.external_id <> ''"
                " ORDER BY 1",
                [self.project.pk],
            )
            duplicates = cursor.fetchall()
            for line, key, first in duplicates:
                result.invalid += 1
                where = f"line {first}" if first else "an earlier import"
                result.add_error(line, "external_id", f"{key!r} is already used ({where})")
            if duplicates and not skip_invalid:
                return 0
            if duplicates:
                cursor.execute(
                    "DELETE FROM import_tasks WHERE line = ANY(%s)",
                    [[line for line, _, _ in duplicates]],
                )
            cursor.execute(
                "INSERT INTO evaluations_task (id, project_id, external_id, prompt, conversation,"
                " responses,"
                " response_count, code, tests, reference, metadata, priority, overlap, filled,"
                " completed,"
                " has_prelabels, is_gold, import_job_id, created_at)"
                " SELECT id, %s, external_id, prompt, conversation, responses, response_count,"
                " code, tests,"
                " reference, metadata, priority, %s, 0, 0, has_prelabels, FALSE, %s, %s FROM"
                " import_tasks"
                " ORDER BY id",
                [self.project.pk, self.overlap, self.job_id, self.now],
            )
            imported = cursor.rowcount
            cursor.execute(
                "INSERT INTO evaluations_prelabel (task_id, question, value, model_name, score)"
                " SELECT p.task_id, p.question, p.value, p.model_name, p.score FROM"
                " import_prelabels p"
                " JOIN import_tasks t ON t.id = p.task_id"
            )
        return imported


Progress = Callable[[ImportResult], None]


def tasks_import(
    *,
    project_id: int,
    handle: BinaryIO,
    fmt: str,
    skip_invalid: bool = False,
    job_id: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a file of tasks into a project; raises ImportInvalid (and imports nothing) when a
    line is bad, unless `skip_invalid`. The result names each bad line and field (the first
    100) and counts them all."""
    try:
        project = Project.objects.get(pk=project_id)
    except Project.DoesNotExist as error:
        raise NotFound(f"Project {project_id} does not exist.") from error
    form = form_current(project=project)
    if form is None:
        raise NoForm(
            "Give the project an evaluation form before importing tasks: lines are checked"
            " against it."
        )
    if fmt not in ("jsonl", "csv"):
        raise ImportInvalid(fields={"format": ["Use jsonl or csv."]})
    checker = LineChecker(form_schema(form))
    overlap = settings_for(project=project).overlap
    result = ImportResult()
    with transaction.atomic():
        writer_class = _CopyWriter if connection.vendor == "postgresql" else _OrmWriter
        writer = writer_class(project=project, overlap=overlap, job_id=job_id)
        for line, raw, problem in _records(handle, fmt):
            result.lines += 1
            if problem is None:
                try:
                    row, prelabels = checker.check(raw)
                except LineProblem as bad:
                    problem, where = bad.problem, bad.where
                else:
                    if not result.invalid or skip_invalid:
                        writer.add(line, row, prelabels)
            else:
                where = "line"
            if problem is not None:
                result.invalid += 1
                result.add_error(line, where, problem)
            if progress is not None and result.lines % BATCH == 0:
                progress(result)
        if result.invalid and not skip_invalid:
            transaction.set_rollback(True)
        else:
            result.imported = writer.finish(result, skip_invalid=skip_invalid)
            if result.invalid and not skip_invalid:
                transaction.set_rollback(True)
    if result.invalid and not skip_invalid:
        result.imported = 0
        first = result.errors[0]
        error = ImportInvalid(
            f"{result.invalid} bad line(s); nothing was imported. First: line {first['line']}, "
            f"{first['field']}: {first['problem']}",
            fields={f"line {e['line']}.{e['field']}": [e["problem"]] for e in result.errors},
        )
        error.result = result
        raise error
    logger.info(
        "tasks.imported",
        extra={"project_id": project.pk, "imported": result.imported, "invalid": result.invalid},
    )
    return result


def tasks_import_path(
    *, project_id: int, path: Path, fmt: str | None = None, **options: Any
) -> ImportResult:
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    with path.open("rb") as handle:
        return tasks_import(project_id=project_id, handle=handle, fmt=fmt, **options)


def prelabels_import(*, project_id: int, handle: BinaryIO) -> ImportResult:
    """Import AI pre-labels for tasks already in a project, from JSONL, all or nothing.

    A line: {"external_id": "q-17" (or "task_id": 123), "question": "helpfulness",
    "value": {...}, "model": "judge-1", "score": 0.82}. A later line for the same task and
    question replaces the earlier suggestion.
    """
    try:
        project = Project.objects.get(pk=project_id)
    except Project.DoesNotExist as error:
        raise NotFound(f"Project {project_id} does not exist.") from error
    form = form_current(project=project)
    if form is None:
        raise NoForm()
    checker = LineChecker(form_schema(form))
    result = ImportResult()
    with transaction.atomic():
        batch: list[tuple[int, dict[str, Any]]] = []

        def write(rows: list[tuple[int, dict[str, Any]]]) -> None:
            by_external = {row["external_id"] for _, row in rows if row.get("external_id")}
            by_id = {row["task_id"] for _, row in rows if row.get("task_id")}
            tasks = {
                (task.external_id, task.pk): task
                for task in Task.objects.filter(project=project)
                .filter(models.Q(external_id__in=by_external) | models.Q(pk__in=by_id))
                .only("pk", "external_id", "responses", "code")
            }
            by_key = {
                key: task
                for (external, pk), task in tasks.items()
                for key in (("e", external), ("i", pk))
            }
            labelled: set[int] = set()
            for line, row in rows:
                task = by_key.get(("e", row.get("external_id"))) or by_key.get(
                    ("i", row.get("task_id"))
                )
                if task is None:
                    result.invalid += 1
                    result.add_error(line, "external_id", "no task of this project has it")
                    continue
                try:
                    _, labels = checker.check(
                        {
                            "prompt": "-",
                            "responses": task.responses,
                            "code": task.code,
                            "prelabels": [row["label"]],
                        }
                    )
                except LineProblem as bad:
                    result.invalid += 1
                    result.add_error(line, bad.where.replace("prelabels.0.", ""), bad.problem)
                    continue
                label = labels[0]
                PreLabel.objects.update_or_create(
                    task=task,
                    question=label["question"],
                    defaults={
                        "value": label["value"],
                        "model_name": label["model"],
                        "score": label["score"],
                    },
                )
                labelled.add(task.pk)
                result.imported += 1
            Task.objects.filter(pk__in=labelled, has_prelabels=False).update(has_prelabels=True)

        for line, raw, problem in _records(handle, "jsonl"):
            result.lines += 1
            if problem is not None or not isinstance(raw, dict):
                result.invalid += 1
                result.add_error(line, "line", problem or "must be a JSON object")
                continue
            label = {key: raw.get(key) for key in ("question", "value", "model", "score")}
            batch.append(
                (
                    line,
                    {
                        "external_id": str(raw.get("external_id") or ""),
                        "task_id": raw.get("task_id"),
                        "label": label,
                    },
                )
            )
            if len(batch) >= BATCH:
                write(batch)
                batch = []
        write(batch)
        if result.invalid:
            transaction.set_rollback(True)
    if result.invalid:
        first = result.errors[0]
        error = ImportInvalid(
            f"{result.invalid} bad line(s); no pre-label was imported. "
            f"First: line {first['line']}, {first['field']}: {first['problem']}",
            fields={f"line {e['line']}.{e['field']}": [e["problem"]] for e in result.errors},
        )
        error.result = result
        raise error
    return result
