"""A Celery task base that parks a job whose runs keep dying instead of redelivering it forever.

With late acknowledgement and reject-on-worker-lost, a job whose run kills its worker (a
segfault, the out-of-memory killer, a hard time limit) goes back to the queue, and would come
back forever. `Job` counts the runs of a job (its name and arguments) that started and never
returned, in the broker's Redis (a worker's own memory dies with it; without a Redis broker,
in the cache); a run that returns, with success, an error
or a retry, clears the count. When the count passes JOB_MAX_DEATHS the job is parked: the
message is rejected without requeue, the event is logged at ERROR, and the job stays parked
for JOB_PARKED_SECONDS, so that a sweeper re-enqueueing its row does not start the loop anew.
"""

from __future__ import annotations

import json
import logging
from functools import cache as once
from typing import Any

import redis
from celery import Task, states
from celery.exceptions import Reject
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

PARKED_LIST = "evalmarket:jobs:parked"


@once
def _redis(url: str) -> redis.Redis | None:
    return (
        redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        if url.startswith("redis")
        else None
    )


def _count(key: str, timeout: int) -> int:
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)
    with client.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, timeout)
        return int(pipe.execute()[0])


def _forget(key: str) -> None:
    client = _redis(settings.CELERY_BROKER_URL)
    if client is None:
        cache.delete(key)
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
