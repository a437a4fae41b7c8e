"""Agreement and aggregation of a project's answers, as a job.

Answers are streamed from the database in chunks into compact typed arrays (a few bytes per
answer, never a model object per submission), then handed to `evaluations.stats`:

    single_label   majority vote and Dawid–Skene; Krippendorff's α (nominal); Cohen's κ of the
                   pairs of contributors who shared the most tasks
    preference     majority vote and Dawid–Skene over the chosen response; α (nominal); when
                   responses name their models, a Bradley–Terry leaderboard with bootstrap
                   intervals
    rating         mean, median and spread per task (and response); α (ordinal and interval)

Results go to AggregateResult (one row per task, question and method), written in chunks and,
for majority and mean, only for tasks with answers newer than the last finished run.
"""

from __future__ import annotations

import json
import logging
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone

from common.errors import NotFound, PermissionDenied
from common.jobs import JobBusy, enqueue_on_commit, job_running
from contributors.models import User
from evaluations.errors import NoMethod
from evaluations.models import AggregateResult, AggregationRun, Submission, Task
from evaluations.schema import Form
from evaluations.selectors import form_current, form_schema
from evaluations.stats.agreement import cohen_kappa_labels, krippendorff_alpha_long
from evaluations.stats.labels import dawid_skene, majority_vote, numeric_summary
from evaluations.stats.pairwise import bootstrap_ci, bradley_terry
from marketplace.models import Project

logger = logging.getLogger(__name__)
CHUNK = 5000
MANAGE = "marketplace.change_project"
METHODS = {
    "single_label": ("majority", "dawid_skene"),
    "preference": ("majority", "dawid_skene"),
    "rating": ("mean",),
}
MAX_CLASSES = 50
KAPPA_PAIRS = 10
BOOTSTRAP = 200


def methods_for(question_type: str) -> tuple[str, ...]:
    return METHODS.get(question_type, ())


def method_check(*, form: Form, question: str, method: str) -> None:
    """Refuse, with the reason, a method the question's type has none of."""
    by_name = {q.name: q for q in form.questions}
    if question not in by_name:
        raise NoMethod(fields={"question": [f"{question!r} is not a question of this form."]})
    kind = by_name[question].type
    if method not in methods_for(kind):
        offered = ", ".join(methods_for(kind)) or "none"
        raise NoMethod(
            f"A {kind} question has no {method!r} aggregation (it has: {offered}).",
            fields={"method": [f"A {kind} question is aggregated by: {offered}."]},
        )


@transaction.atomic
def aggregation_request(*, project_id: int, actor: User | None) -> AggregationRun:
    """Queue a run for a project; asking while one waits or runs returns that one."""
    from evaluations.tasks import aggregation_run_task

    if actor is not None and not actor.has_perm(MANAGE):
        raise PermissionDenied("Only staff run aggregation.")
    if not Project.objects.filter(pk=project_id).exists():
        raise NotFound(f"Project {project_id} does not exist.")
    live = AggregationRun.objects.filter(
        project_id=project_id,
        status__in=[AggregationRun.Status.QUEUED, AggregationRun.Status.RUNNING],
    ).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            run = AggregationRun.objects.create(
                project_id=project_id,
                requested_by=actor,
                params={
                    "dawid_skene": {"max_iter": 100, "tol": 1e-5},
                    "bradley_terry": {"tol": 1e-10, "bootstrap": BOOTSTRAP, "level": 0.95},
                    "kappa_pairs": KAPPA_PAIRS,
                },
            )
    except IntegrityError:
        return AggregationRun.objects.get(
            project_id=project_id,
            status__in=[AggregationRun.Status.QUEUED, AggregationRun.Status.RUNNING],
        )
    enqueue_on_commit(aggregation_run_task, run.pk)
    return run


def aggregations_due() -> list[int]:
    """Queue a run for each project with submissions changed since its last finished run."""
    last_runs = {
        row["project_id"]: row["last"]
        for row in AggregationRun.objects.filter(status=AggregationRun.Status.DONE)
        .values("project_id")
        .annotate(last=Max("started_at"))
    }
    changed = Submission.objects.values("project_id").annotate(latest=Max("updated_at"))
    queued = []
    for row in changed:
        last = last_runs.get(row["project_id"])
        if last is None or row["latest"] > last:
            queued.append(aggregation_request(project_id=row["project_id"], actor=None).pk)
    return queued


@dataclass
class _Answers:
    """One question's answers in compact arrays: which task (index), who (index), value."""

    tasks: array = field(default_factory=lambda: array("q"))
    people: array = field(default_factory=lambda: array("q"))
    values: array = field(default_factory=lambda: array("d"))

    def add(self, task: int, person: int, value: float) -> None:
        self.tasks.append(task)
        self.people.append(person)
        self.values.append(value)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.frombuffer(self.tasks, dtype=np.int64),
            np.frombuffer(self.people, dtype=np.int64),
            np.frombuffer(self.values, dtype=np.float64),
        )


class _Fresh:
    """The tasks whose majority and mean are rewritten: those with answers changed since the
    last finished run (all of them on a first run)."""

    def __init__(self, changed: set[int] | None) -> None:
        self.changed = changed

    def __contains__(self, task_id: object) -> bool:
        return self.changed is None or task_id in self.changed


class _Index(dict):
    """Interns keys to 0..n-1 in order of first sight."""

    def of(self, key: Any) -> int:
        found = self.get(key)
        if found is None:
            found = self[key] = len(self)
        return found

    def keys_in_order(self) -> list[Any]:
        return sorted(self, key=self.__getitem__)


def _response_models(project_id: int) -> Iterator[tuple[int, dict[str, str]]]:
    """Each task's {response id: model name}, read in the database (not the response texts)."""
    if connection.vendor == "postgresql":
        models = RawSQL(
            "SELECT COALESCE(jsonb_object_agg(r->>'id', COALESCE(r->>'model', '')), '{}'::jsonb)"
            " FROM jsonb_array_elements(evaluations_task.responses) AS r",
            (),
        )
    else:
        models = RawSQL(
            "SELECT json_group_object(json_extract(r.value, '$.id'),"
            " COALESCE(json_extract(r.value, '$.model'), ''))"
            " FROM json_each(evaluations_task.responses) AS r",
            (),
        )
    rows = (
        Task.objects.filter(project_id=project_id, is_gold=False)
        .annotate(models=models)
        .order_by("pk")  # the leaderboard merges these with the answers by task id
        .values_list("pk", "models")
    )
    for pk, found in rows.iterator(chunk_size=CHUNK):
        yield pk, found if isinstance(found, dict) else json.loads(found or "{}")


def _collect(project_id: int, form: Form) -> dict[str, Any]:
    """Stream the answers once, into per-question arrays."""
    tasks, people = _Index(), _Index()
    per_question: dict[str, _Answers] = {q.name: _Answers() for q in form.questions}
    choices: dict[str, _Index] = {q.name: _Index() for q in form.questions}
    responses = _Index()  # response ids, for the (task, response) units of ratings
    rated: dict[str, array] = {q.name: array("q") for q in form.questions if q.type == "rating"}
    preferences: dict[str, tuple[array, array]] = {
        q.name: (array("q"), array("q")) for q in form.questions if q.type == "preference"
    }
    kinds = {q.name: q for q in form.questions}
    submissions = (
        Submission.objects.filter(project_id=project_id, is_gold=False)
        .exclude(status=Submission.Status.REJECTED)
        .order_by("pk")
        .values_list("task_id", "contributor_id", "answers")
    )
    seen = 0
    for task_id, person_id, answers in submissions.iterator(chunk_size=CHUNK):
        seen += 1
        t, p = tasks.of(task_id), people.of(person_id)
        for name, question in kinds.items():
            answer = answers.get(name)
            if answer is None:
                continue
            if question.type == "single_label" and isinstance(answer, str):
                per_question[name].add(t, p, choices[name].of(answer))
            elif question.type == "preference" and isinstance(answer, dict):
                choice = str(answer.get("choice"))
                per_question[name].add(t, p, choices[name].of(choice))
                preferences[name][0].append(task_id)
                preferences[name][1].append(choices[name].of(choice))
            elif question.type == "rating" and isinstance(answer, dict):
                for rid, value in answer.items():
                    per_question[name].add(t, p, float(value))
                    rated[name].append(responses.of(rid))
            elif question.type == "rating" and isinstance(answer, int | float):
                per_question[name].add(t, p, float(answer))
                rated[name].append(responses.of(""))
    return {
        "preferences": preferences,
        "tasks": tasks,
        "people": people,
        "answers": per_question,
        "choices": choices,
        "responses": responses,
        "rated": rated,
        "seen": seen,
    }


def _kappa_pairs(
    t: np.ndarray, p: np.ndarray, v: np.ndarray, n_classes: int, people: list[int]
) -> list[dict]:
    """Cohen's κ of the pairs of people who answered the most tasks in common.

    Vectorised: answers sorted by task, every pair inside a task is found by offsets (a task
    has at most its overlap of answers), without a Python object per answer.
    """
    order = np.lexsort((p, t))
    t, p, v = t[order], p[order], v[order].astype(np.int64)
    firsts, seconds, first_values, second_values = [], [], [], []
    offset = 1
    while offset < t.size:
        same = t[offset:] == t[:-offset]
        if not same.any():
            break
        firsts.append(p[:-offset][same])
        seconds.append(p[offset:][same])
        first_values.append(v[:-offset][same])
        second_values.append(v[offset:][same])
        offset += 1
    if not firsts:
        return []
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    va, vb = np.concatenate(first_values), np.concatenate(second_values)
    width = int(max(a.max(), b.max())) + 1
    keys = a * width + b
    unique, counts = np.unique(keys, return_counts=True)
    out = []
    for index in np.argsort(-counts, kind="stable")[:KAPPA_PAIRS].tolist():
        if counts[index] < 5:
            break
        rows = keys == unique[index]
        kappa = cohen_kappa_labels(va[rows], vb[rows], n_classes)
        out.append(
            {
                "people": [
                    people[int(unique[index] // width)],
                    people[int(unique[index] % width)],
                ],
                "shared": int(counts[index]),
                "kappa": _num(kappa),
            }
        )
    return out


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _upsert(rows: list[AggregateResult]) -> None:
    AggregateResult.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["task", "question", "method"],
        update_fields=["value", "confidence", "n", "run", "updated_at"],
    )


def _write(results: Iterator[AggregateResult]) -> int:
    written, batch = 0, []
    for row in results:
        batch.append(row)
        if len(batch) >= CHUNK:
            _upsert(batch)
            written += len(batch)
            batch = []
    if batch:
        _upsert(batch)
        written += len(batch)
    return written


def _leaderboard(project_id: int, question: str, picks: tuple[array, array], choices: list[str]):
    """Bradley–Terry over the models of the responses: the chosen one beats each other
    response of its task; a tie ties them. None when the responses name no models."""
    task_ids = np.frombuffer(picks[0], dtype=np.int64)
    chosen = np.frombuffer(picks[1], dtype=np.int64)
    order = np.argsort(task_ids, kind="stable")
    task_ids, chosen = task_ids[order], chosen[order]
    models = _Index()
    winners, losers, tied = array("q"), array("q"), array("b")
    at = 0
    for task_id, named in _response_models(project_id):  # in task id order, merged with picks
        while at < task_ids.size and task_ids[at] < task_id:
            at += 1
        while at < task_ids.size and task_ids[at] == task_id:
            pick = choices[chosen[at]]
            at += 1
            if len(named) < 2 or not all(named.values()):
                continue
            if pick == "tie":
                pairs = [(a, b, 1) for i, a in enumerate(named) for b in list(named)[i + 1 :]]
            elif pick in named:
                pairs = [(pick, other, 0) for other in named if other != pick]
            else:
                continue
            for first, second, tie in pairs:
                if named[first] != named[second]:
                    winners.append(models.of(named[first]))
                    losers.append(models.of(named[second]))
                    tied.append(tie)
    if len(models) < 2:
        return None
    w = np.frombuffer(winners, dtype=np.int64)
    lo = np.frombuffer(losers, dtype=np.int64)
    ties = np.frombuffer(tied, dtype=np.int8).astype(bool)
    fit = bradley_terry(w, lo, len(models), ties)
    band = bootstrap_ci(w, lo, len(models), ties, n_resamples=BOOTSTRAP, level=0.95, seed=0)
    wins = np.bincount(w[~ties], minlength=len(models)) + 0.5 * (
        np.bincount(w[ties], minlength=len(models)) + np.bincount(lo[ties], minlength=len(models))
    )
    games = np.bincount(w, minlength=len(models)) + np.bincount(lo, minlength=len(models))
    rows = [
        {
            "model": name,
            "score": _num(fit.scores[i]),
            "lower": _num(band.lower[i]),
            "upper": _num(band.upper[i]),
            "wins": float(wins[i]),
            "games": int(games[i]),
            "win_rate": _num(wins[i] / games[i]) if games[i] else None,
        }
        for i, name in enumerate(models.keys_in_order())
    ]
    rows.sort(key=lambda row: -(row["score"] or 0))
    return {
        "question": question,
        "models": rows,
        "comparisons": int(w.size),
        "iterations": fit.iterations,
        "converged": bool(fit.converged),
        "interval": "95% percentile bootstrap, 200 resamples of the comparisons",
    }


def _people_quality(ds: Any, people: list[int]) -> dict[str, Any]:
    """Each person's estimated accuracy under Dawid–Skene: Σ_k prior_k · P(answer k | truth k)."""
    diagonal = np.einsum("wkk->wk", ds.confusion)
    accuracy = diagonal @ ds.priors
    order = np.argsort(accuracy)
    return {
        "median_accuracy": _num(np.median(accuracy)) if accuracy.size else None,
        "lowest": [
            {"contributor": people[i], "accuracy": _num(accuracy[i])} for i in order[:5].tolist()
        ],
    }


def _label_question(
    question: Any, answers: _Answers, data: dict[str, Any], run: AggregationRun, fresh: _Fresh
) -> tuple[dict[str, Any], int]:
    t, p, v = answers.arrays()
    labels = data["choices"][question.name].keys_in_order()
    task_ids = data["tasks"].keys_in_order()
    people = data["people"].keys_in_order()
    k = len(labels)
    classes = v.astype(np.int64)
    info: dict[str, Any] = {
        "type": question.type,
        "answers": int(t.size),
        "tasks": int(np.unique(t).size),
        "alpha": {"nominal": _num(krippendorff_alpha_long(t, v, "nominal"))},
        "kappa_pairs": _kappa_pairs(t, p, v, k, people),
    }
    vote = majority_vote(t, classes, n_items=len(task_ids), n_classes=k)
    now = timezone.now()
    answered = np.flatnonzero(vote.counts.sum(axis=1) > 0)

    def majority_rows() -> Iterator[AggregateResult]:
        for i in answered.tolist():
            if task_ids[i] not in fresh:
                continue
            tied = np.sum(vote.counts[i] == vote.counts[i].max()) > 1
            yield AggregateResult(
                project_id=run.project_id,
                task_id=task_ids[i],
                question=question.name,
                method=AggregateResult.Method.MAJORITY,
                value=None if tied else labels[int(vote.labels[i])],
                confidence=_num(vote.share[i]),
                n=int(vote.counts[i].sum()),
                run=run,
                updated_at=now,
            )

    written = _write(majority_rows())
    if k <= MAX_CLASSES:
        # With one distinct answer the model is degenerate (everyone said it): certainty 1.
        ds = dawid_skene(t, p, classes, n_items=len(task_ids), n_workers=len(people), n_classes=k)
        info["dawid_skene"] = {
            "iterations": ds.iterations,
            "converged": bool(ds.converged),
            **_people_quality(ds, people),
        }

        def skene_rows() -> Iterator[AggregateResult]:
            for i in answered.tolist():  # one model for all tasks: every answer may move
                yield AggregateResult(
                    project_id=run.project_id,
                    task_id=task_ids[i],
                    question=question.name,
                    method=AggregateResult.Method.DAWID_SKENE,
                    value=labels[int(ds.labels[i])],
                    confidence=_num(ds.posterior[i].max()),
                    n=int(vote.counts[i].sum()),
                    run=run,
                    updated_at=now,
                )

        written += _write(skene_rows())
    else:
        info["dawid_skene"] = {"skipped": f"more than {MAX_CLASSES} distinct answers ({k})"}
    return info, written


def _rating_question(
    question: Any, answers: _Answers, data: dict[str, Any], run: AggregationRun, fresh: _Fresh
) -> tuple[dict[str, Any], int]:
    """Mean, median and spread per task and response; α over the (task, response) units."""
    t, _, v = answers.arrays()
    rids = data["responses"].keys_in_order()
    task_ids = data["tasks"].keys_in_order()
    width = max(len(rids), 1)
    units = t * width + np.frombuffer(data["rated"][question.name], dtype=np.int64)
    summary = numeric_summary(units, v, n_items=len(task_ids) * width)
    info = {
        "type": "rating",
        "answers": int(t.size),
        "alpha": {
            "ordinal": _num(krippendorff_alpha_long(units, v, "ordinal")),
            "interval": _num(krippendorff_alpha_long(units, v, "interval")),
        },
        "mean_spread": _num(np.nanmean(summary.std[summary.count > 0])) if t.size else None,
    }
    now = timezone.now()

    def rows() -> Iterator[AggregateResult]:
        current, values, most = -1, {}, 0
        for unit in [*np.flatnonzero(summary.count > 0).tolist(), -1]:  # units come by task
            task = unit // width if unit >= 0 else -1
            if task != current and values:
                yield AggregateResult(
                    project_id=run.project_id,
                    task_id=task_ids[current],
                    question=question.name,
                    method=AggregateResult.Method.MEAN,
                    value=values[""] if set(values) == {""} else values,
                    confidence=None,
                    n=most,
                    run=run,
                    updated_at=now,
                )
                values, most = {}, 0
            current = task
            if unit < 0 or task_ids[task] not in fresh:
                continue
            values[rids[unit % width]] = {
                "mean": _num(summary.mean[unit]),
                "median": _num(summary.median[unit]),
                "spread": _num(summary.std[unit]),
            }
            most = max(most, int(summary.count[unit]))

    return info, _write(rows())


def _aggregate(run: AggregationRun) -> tuple[dict[str, Any], int, int]:
    form_row = form_current(project=run.project_id)
    if form_row is None:
        return {"questions": {}, "leaderboard": None}, 0, 0
    form = form_schema(form_row)
    data = _collect(run.project_id, form)
    last = (
        AggregationRun.objects.filter(project_id=run.project_id, status=AggregationRun.Status.DONE)
        .exclude(pk=run.pk)
        .aggregate(last=Max("started_at"))["last"]
    )
    fresh: _Fresh = _Fresh(
        None
        if last is None
        else set(
            Submission.objects.filter(project_id=run.project_id, updated_at__gte=last)
            .values_list("task_id", flat=True)
            .iterator(chunk_size=CHUNK)
        )
    )
    summary: dict[str, Any] = {
        "questions": {},
        "leaderboard": None,
        "contributors": len(data["people"]),
        "tasks": len(data["tasks"]),
    }
    written = 0
    for question in form.questions:
        answers = data["answers"][question.name]
        if not len(answers.tasks):
            continue
        if question.type in ("single_label", "preference"):
            info, count = _label_question(question, answers, data, run, fresh)
        elif question.type == "rating":
            info, count = _rating_question(question, answers, data, run, fresh)
        else:
            continue
        summary["questions"][question.name] = info
        written += count
        if question.type == "preference" and summary["leaderboard"] is None:
            summary["leaderboard"] = _leaderboard(
                run.project_id,
                question.name,
                data["preferences"][question.name],
                data["choices"][question.name].keys_in_order(),
            )
    # Tasks left with no answer that counts (all rejected) keep no result built from them.
    counted = Submission.objects.filter(task=OuterRef("task"), is_gold=False).exclude(
        status=Submission.Status.REJECTED
    )
    AggregateResult.objects.filter(project_id=run.project_id).exclude(Exists(counted)).delete()
    return summary, data["seen"], written


def aggregation_run(*, run_id: int) -> AggregationRun | None:
    """Run a queued aggregation (a second delivery of a finished run does nothing; one that
    comes while the run is at work elsewhere raises JobBusy, and its task retries later)."""
    with job_running("aggregation_run", run_id) as mine:
        if not mine:
            raise JobBusy(f"aggregation_run {run_id} is running in another worker.")
        return _aggregation_run(run_id)


def _aggregation_run(run_id: int) -> AggregationRun | None:
    with transaction.atomic():
        run = AggregationRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in (AggregationRun.Status.DONE, AggregationRun.Status.FAILED):
            return run
        run.status = AggregationRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
    try:
        summary, seen, updated = _aggregate(run)
    except Exception as error:
        logger.exception("aggregation.failed", extra={"run_id": run.pk})
        AggregationRun.objects.filter(pk=run.pk).update(
            status=AggregationRun.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    AggregationRun.objects.filter(pk=run.pk).update(
        status=AggregationRun.Status.DONE,
        summary=summary,
        submissions_seen=seen,
        tasks_updated=updated,
        finished_at=timezone.now(),
    )
    logger.info("aggregation.done", extra={"run_id": run.pk, "submissions": seen})
    run.refresh_from_db()
    return run
