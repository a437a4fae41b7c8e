"""Background jobs: a task base that parks a job whose runs keep dying instead of redelivering
it forever, and enqueueing that a broker outage does not fail, with the sweepers' re-enqueueing.

With late acknowledgement and reject-on-worker-lost, a job whose run kills its worker (a
segfault, the out-of-memory killer, a hard time limit) goes back to the queue, and would come
back forever. `Job` counts the runs of a job (its name and arguments) that started and never
returned, in the broker's Redis (a worker's own memory dies with it; without a Redis broker,
in the cache); a run that returns, with success, an error
or a retry, clears the count. When the count passes JOB_MAX_DEATHS the job is parked: the
message is rejected without requeue, the event is logged at ERROR, and the job stays parked
for JOB_PARKED_SECONDS, so that a sweeper re-enqueueing its row does not start the loop anew.

Every job's state lives in a database row, so a message that never reached the broker (an
outage at commit) or that the broker lost with its worker is not lost work: `enqueue_on_commit`
logs a broker it cannot reach instead of failing the request, and each app's sweeper (a beat
job every few minutes) sends again, through `jobs_requeue`, the jobs of rows that waited longer
than `job_stuck_seconds` (longer than the task may run), skipping parked ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache as once
from functools import partial
from typing import Any

import redis
from celery import Task, states
from celery.exceptions import Reject
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from kombu.exceptions import OperationalError as BrokerOperationalError

logger = logging.getLogger(__name__)

PARKED_LIST = "evalmarket:jobs:parked"
REQUEUED = "evalmarket:jobs:requeued:"
# What publishing raises when the broker cannot be reached (kombu wraps most of it in its
# OperationalError; a refused or reset socket can come through as it is).
BROKER_DOWN = (BrokerOperationalError, redis.ConnectionError, redis.TimeoutError, OSError)


@once
def _redis(url: str) -> redis.Redis | None:
    return (
        redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        if url.startswith("redis")
        else None
    )


def _cache_key(key: str) -> str:
    # Without a Redis broker the counts live in Django's cache, whose keys have no spaces.
    return key.replace(" ", "")


def _count(key: str, timeout: int) -> int:
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        cache.add(_cache_key(key), 0, timeout=timeout)
        return cache.incr(_cache_key(key))
    with client.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, timeout)
        return int(pipe.execute()[0])


def _forget(key: str) -> None:
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        cache.delete(_cache_key(key))
    else:
        client.delete(key)


def _park(key: str) -> None:
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        cache.set(PARKED_LIST, [*jobs_parked(), key][-1000:], timeout=None)
    else:
        client.rpush(PARKED_LIST, key)
        client.ltrim(PARKED_LIST, -1000, -1)


def job_key(name: str, args: Any, kwargs: Any) -> str:
    """The identity of a job: what it does to which rows, whatever its message id."""
    return (
        "evalmarket:jobs:deaths:"
        + name
        + ":"
        + json.dumps([args or [], kwargs or {}], sort_keys=True)
    )


def jobs_parked() -> list[str]:
    """The keys of the jobs parked lately (newest last), for operators and the benchmark."""
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        return list(cache.get(PARKED_LIST) or [])
    return [item.decode() for item in client.lrange(PARKED_LIST, 0, -1)]


class Job(Task):
    """A task whose runs that die are counted, and which is parked after too many of them."""

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        key = job_key(self.name, args, kwargs)
        limit = getattr(settings, "JOB_MAX_DEATHS", 5)
        try:
            started = _count(key, getattr(settings, "JOB_PARKED_SECONDS", 86400))
        except Exception:
            logger.warning("job.death_count_unavailable", extra={"task": self.name})
            return
        if started <= limit:
            return
        logger.error(
            "job.parked",
            extra={"task": self.name, "task_id": task_id, "job": key, "deaths": started - 1},
        )
        try:
            _park(key)
        except Exception:
            logger.warning("job.parked_list_unavailable", extra={"job": key})
        raise Reject(f"{key} died {started - 1} times", requeue=False)

    def after_return(
        self, status: str, retval: Any, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        # The run came back (success, failure or retry): it did not kill its worker. A parked
        # job keeps its count, so that it stays parked.
        if status == states.REJECTED:
            return
        try:
            _forget(job_key(self.name, args, kwargs))
        except Exception:
            logger.warning("job.death_count_unavailable", extra={"task": self.name})


def enqueue(task: Task, *args: Any) -> bool:
    """Send a job now; when the broker is unreachable, log it and return False.

    The job's row stays in its waiting state, so the sweeper sends the job once the broker is
    back. With tasks run in-process (no broker) the task's own errors propagate as they are.
    """
    if task.app.conf.task_always_eager:
        task.delay(*args)
        return True
    try:
        task.delay(*args)
    except BROKER_DOWN:
        logger.warning("job.enqueue_failed", extra={"task": task.name, "job_args": list(args)})
        return False
    return True


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Send a job when the current transaction commits; a broker outage does not fail it."""
    transaction.on_commit(partial(enqueue, task, *args))


def job_stuck_seconds(task: Task, *, running: bool = False) -> int:
    """How long a row may wait for `task` before the sweeper sends its job again.

    JOB_STUCK_SECONDS is longer than CELERY_TASK_TIME_LIMIT, so a job still running is never
    sent twice; a row already marked running waits as much longer as the task may run past the
    default limit (imports and aggregation have limits of their own).
    """
    stuck = int(settings.JOB_STUCK_SECONDS)
    if running:
        default = int(settings.CELERY_TASK_TIME_LIMIT)
        stuck += max(0, int(task.time_limit or default) - default)
    return stuck


def _parked(keys: list[str]) -> set[str]:
    limit = getattr(settings, "JOB_MAX_DEATHS", 5)
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        found = cache.get_many([_cache_key(key) for key in keys])
        return {key for key in keys if int(found.get(_cache_key(key), 0)) > limit}
    counts = client.mget(keys)
    return {key for key, count in zip(keys, counts, strict=True) if count and int(count) > limit}


def _claim(key: str, seconds: int) -> bool:
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        return bool(cache.add(_cache_key(REQUEUED + key), 1, timeout=seconds))
    return bool(client.set(REQUEUED + key, 1, nx=True, ex=seconds))


def _unclaim(key: str) -> None:
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        cache.delete(_cache_key(REQUEUED + key))
    else:
        client.delete(REQUEUED + key)


def jobs_requeue(task: Task, jobs: Iterable[Any], *, seconds: int) -> int:
    """Send `task` again for each of `jobs` (its argument, or a tuple of its arguments) whose
    rows waited `seconds`; returns how many were sent.

    A job parked for killing its workers (common.jobs.Job) stays parked, and a job sent again
    within the last `seconds` is not sent again before they are over, so that a queue that is
    merely slow is not flooded with copies. The jobs are idempotent: a copy that finds its row
    done changes nothing.
    """
    keys = {}
    for job in jobs:
        args = job if isinstance(job, tuple) else (job,)
        keys[job_key(task.name, list(args), {})] = args
    if not keys:
        return 0
    try:
        parked = _parked(list(keys))
    except redis.RedisError:
        logger.warning("job.death_count_unavailable", extra={"task": task.name})
        parked = set()
    sent = 0
    for key, args in keys.items():
        if key in parked:
            logger.info("job.requeue_skipped_parked", extra={"task": task.name, "job": key})
            continue
        try:
            if not _claim(key, seconds):
                continue
        except redis.RedisError:
            logger.warning("job.requeue_claim_unavailable", extra={"task": task.name})
        if not enqueue(task, *args):
            # The broker is down: the rest would fail the same way; the next sweep sends them.
            try:
                _unclaim(key)
            except redis.RedisError:
                logger.warning("job.requeue_claim_unavailable", extra={"task": task.name})
            break
        sent += 1
        logger.warning("job.requeued", extra={"task": task.name, "job": key})
    return sent


class JobBusy(Exception):
    """Another delivery runs this job right now: retry this one later (its task's autoretry),
    when the other has finished it (the retry then finds it done) or died with its worker."""


@contextmanager
def job_running(name: str, key: int) -> Iterator[bool]:
    """Whether this delivery of a job should run it: False while another delivery runs the
    same job right now (a duplicate message, or a sweeper's resend of a slow run).

    On PostgreSQL a session advisory lock on (name, key), tried without waiting and released
    at the end; a worker that dies loses its connection and with it the lock, so the job's
    redelivery runs it. Elsewhere (SQLite, one process) always True.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    lock = f"{name}:{key}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [lock])
        taken = bool(cursor.fetchone()[0])
    try:
        yield taken
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [lock])
