"""Jobs that only the fault-injection checks run: a worker loads them with `--include`.

`faults.poison` kills the process that runs it, every time, as a segfault or the out-of-memory
killer would; it counts its runs in the broker's Redis, so a check can tell how often it came
back before it was parked.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import redis
from celery import shared_task
from django.conf import settings

from common.jobs import Job

RUNS = "evalmarket:faults:poison-runs:"


def poison_runs(token: str) -> int:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return int(client.get(RUNS + token) or 0)


@shared_task(name="faults.poison", base=Job, acks_late=True)
def poison_task(token: str) -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).incr(RUNS + token)
    os.kill(os.getpid(), signal.SIGKILL)


# The work whose jobs are killed and run twice, and the checks that each left its effect once.


def scoring_work(count: int) -> list[int]:
    """Submitted Starter Assessment attempts (their scoring job queued at commit)."""
    from assessments.services import attempt_start, attempt_submit
    from tests.assessments.helpers import answer_all
    from tests.contributors.factories import ContributorFactory

    ids = []
    for _ in range(count):
        user = ContributorFactory(status="assessing")
        attempt = attempt_start(user=user, slug="starter")
        answer_all(attempt, user)
        attempt_submit(attempt_id=attempt.pk, user=user)
        ids.append(attempt.pk)
    return ids


def scoring_check(attempt_ids: list[int]) -> dict[str, int]:
    """Lost: an attempt with an item still open. Duplicates: an item scored twice, or graded
    by more than its two rounds."""
    from django.db.models import Count

    from assessments.models import AttemptItem, GradingTask, ScoringEvent

    items = AttemptItem.objects.filter(attempt_id__in=attempt_ids)
    lost = items.filter(status=AttemptItem.Status.OPEN).values("attempt_id").distinct().count()
    scored_twice = (
        ScoringEvent.objects.filter(attempt_id__in=attempt_ids, kind="item_scored")
        .values("item_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    graded_twice = (
        GradingTask.objects.filter(attempt_id__in=attempt_ids)
        .values("item_id", "round")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return {"jobs": len(attempt_ids), "lost": lost, "duplicates": scored_twice + graded_twice}


def aggregation_work(count: int, *, tasks: int = 6) -> list[int]:
    """Projects answered by three people, each with an aggregation run queued."""
    from evaluations.services import aggregation_request, assignment_next, submission_submit
    from tests.evaluations.helpers import project_with_tasks, worker
    from tests.marketplace.helpers import staff

    form = {
        "questions": [
            {"name": "verdict", "type": "single_label", "prompt": "Right?", "labels": ["y", "n"]},
            {"name": "better", "type": "preference", "prompt": "Which is better?"},
            {"name": "help", "type": "rating", "prompt": "How helpful?", "min": 1, "max": 7},
        ]
    }
    boss = staff()
    runs = []
    for _ in range(count):
        project = project_with_tasks(tasks, overlap=3, form=form, actor=boss)
        for n in range(3):
            person = worker(project)
            for t in range(tasks):
                assignment = assignment_next(project_id=project.pk, user=person)
                submission_submit(
                    assignment_id=assignment.pk,
                    user=person,
                    answers={
                        "verdict": "yn"[(n + t) % 2],
                        "better": {"choice": "a"},
                        "help": {"a": 5 + n % 2, "b": 2},
                    },
                )
        runs.append(aggregation_request(project_id=project.pk, actor=boss).pk)
    return runs


def aggregation_check(run_ids: list[int]) -> dict[str, int]:
    """Lost: a run not done. Duplicates: more than one result per task, question and method,
    or more than one run of a project."""
    from django.db.models import Count

    from evaluations.models import AggregateResult, AggregationRun

    runs = AggregationRun.objects.filter(pk__in=run_ids)
    lost = runs.exclude(status=AggregationRun.Status.DONE).count()
    projects = list(runs.values_list("project_id", flat=True))
    doubled = (
        AggregateResult.objects.filter(project_id__in=projects)
        .values("task_id", "question", "method")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    extra_runs = AggregationRun.objects.filter(project_id__in=projects).count() - len(projects)
    return {"jobs": len(run_ids), "lost": lost, "duplicates": doubled + extra_runs}


def payout_work(count: int, *, people: int = 30) -> list[int]:
    """Closed pay periods, one after another, each with `people` earners of two entries."""
    from tests.marketplace.payout_helpers import closed_period, earn, earner

    periods = []
    for n in range(count):
        period = closed_period(days_ago=1 + 7 * (count - 1 - n))
        for _ in range(people):
            person = earner()
            for amount in ("20.00", "5.50"):
                earn(person, amount, approved_at=period.ends_at - timedelta(hours=1))
        periods.append(period.pk)
    return periods


def payout_check(period_ids: list[int]) -> dict[str, int]:
    """Lost: a period whose batch is not ready. Duplicates: a second batch of a period, a
    payout of a contributor twice in a batch, an entry linked twice."""
    from django.db.models import Count

    from marketplace.models import Payout, PayoutBatch, PayoutItem

    batches = PayoutBatch.objects.filter(period_id__in=period_ids)
    lost = len(period_ids) - batches.filter(state=PayoutBatch.State.READY).count()
    extra_batches = batches.count() - batches.values("period_id").distinct().count()
    twice_paid = (
        Payout.objects.filter(batch__in=batches)
        .values("batch_id", "contributor_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    twice_linked = (
        PayoutItem.objects.values("entry_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    return {
        "jobs": len(period_ids),
        "lost": lost,
        "duplicates": extra_batches + twice_paid + twice_linked,
    }
