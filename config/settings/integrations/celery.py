"""Celery: safe retries from the start, JSON only, queues named by kind of job.

With no CELERY_BROKER_URL, tasks run in-process (eagerly): the zero-setup default of
`python3 dev.py run`. The service says so in its log at start (common.apps).
"""

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"
# Results are off by default (TASK_IGNORE_RESULT); the few tasks that return something to a
# caller turn them on and use this backend.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "cache+memory://"
)
CELERY_RESULT_EXPIRES = 3600

CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True

# A task is acknowledged only when it has finished, and put back when its worker dies, so a
# crash redelivers it; every task is therefore written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Time limits stay below the broker's visibility timeout: Redis redelivers an unacknowledged
# message after that timeout, so a task still running then would run twice at once.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}

# A job whose runs keep killing their worker (so that late acknowledgement puts it back each
# time) is parked after this many deaths, and stays parked this long (common.jobs.Job).
JOB_MAX_DEATHS = env.int("JOB_MAX_DEATHS", default=5)
JOB_PARKED_SECONDS = env.int("JOB_PARKED_SECONDS", default=86400)

# Every job's state is a database row; a row left waiting longer than this (its message lost
# with a killed worker, or never sent during a broker outage) has its job sent again by the
# sweepers below. Longer than the hard time limit, so a job still running is not sent twice;
# rows of tasks with longer limits of their own wait as much longer (common.jobs).
JOB_STUCK_SECONDS = env.int("JOB_STUCK_SECONDS", default=max(900, CELERY_TASK_TIME_LIMIT + 300))
if JOB_STUCK_SECONDS <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("JOB_STUCK_SECONDS must be longer than CELERY_TASK_TIME_LIMIT.")
# Rows idle for longer than this are not swept any more: a job that fails every time is sent
# again once per JOB_STUCK_SECONDS for this long, not forever.
JOB_SWEEP_WINDOW_SECONDS = env.int("JOB_SWEEP_WINDOW_SECONDS", default=3 * 86400)

# Queues by kind of job, so that a flood of one kind never starves the others.
CELERY_QUEUE_NAMES = (
    "default",
    "email",
    "scoring",
    "sandbox",
    "aggregation",
    "payouts",
    "maintenance",
)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = tuple(Queue(name, routing_key=name) for name in CELERY_QUEUE_NAMES)
CELERY_TASK_ROUTES = {
    "common.ping": {"queue": "default"},
    "common.sessions_clear_expired": {"queue": "maintenance"},
    "contributors.auth_attempts_purge": {"queue": "maintenance"},
    "contributors.email_*": {"queue": "email"},
    "assessments.email_*": {"queue": "email"},
    "assessments.item_code_score": {"queue": "sandbox"},
    "assessments.attempt_score": {"queue": "scoring"},
    "assessments.attempt_decide": {"queue": "scoring"},
    "assessments.attempts_submit_expired": {"queue": "scoring"},
    "assessments.grading_claims_release_expired": {"queue": "maintenance"},
    "assessments.jobs_sweep": {"queue": "maintenance"},
    "marketplace.earning_from_session": {"queue": "payouts"},
    "marketplace.sessions_close_idle": {"queue": "maintenance"},
    "marketplace.payout_batches_build": {"queue": "payouts"},
    "marketplace.payout_batch_build": {"queue": "payouts"},
    "marketplace.email_*": {"queue": "email"},
    "marketplace.ledger_reconcile": {"queue": "payouts"},
    "marketplace.jobs_sweep": {"queue": "maintenance"},
    "evaluations.import_job_run": {"queue": "default"},
    "evaluations.code_run_execute": {"queue": "sandbox"},
    "evaluations.assignments_expire": {"queue": "maintenance"},
    "evaluations.reviews_expire": {"queue": "maintenance"},
    "evaluations.aggregation_run": {"queue": "aggregation"},
    "evaluations.aggregations_due": {"queue": "aggregation"},
    "evaluations.standings_update": {"queue": "aggregation"},
    "evaluations.jobs_sweep": {"queue": "maintenance"},
}

CELERY_BEAT_SCHEDULE = {
    # Every minute, return tasks whose lease ran out to the pool.
    "assignments-expire": {
        "task": "evaluations.assignments_expire",
        "schedule": crontab(),
    },
    # Every 15 minutes, return reviews whose reviewer's lease ran out to the queue.
    "reviews-expire": {
        "task": "evaluations.reviews_expire",
        "schedule": crontab(minute="*/15"),
    },
    # Every hour, aggregate the projects with submissions changed since their last run.
    "aggregations-due": {
        "task": "evaluations.aggregations_due",
        "schedule": crontab(minute=7),
    },
    # Every day at 04:23 UTC, recompute quality standings (after the night's aggregation).
    "standings-update": {
        "task": "evaluations.standings_update",
        "schedule": crontab(hour=4, minute=23),
    },
    # Every minute, close work sessions that stopped sending heartbeats, at their last one.
    "sessions-close-idle": {
        "task": "marketplace.sessions_close_idle",
        "schedule": crontab(),
    },
    # Every minute, submit what was saved of attempts whose time is up.
    "attempts-submit-expired": {
        "task": "assessments.attempts_submit_expired",
        "schedule": crontab(),
    },
    # Every 15 minutes, return grading claims held over 4 hours to the queue.
    "grading-claims-release-expired": {
        "task": "assessments.grading_claims_release_expired",
        "schedule": crontab(minute="*/15"),
    },
    # Every hour, make pay periods up to now and build the batches of the closed ones.
    "payout-batches-build": {
        "task": "marketplace.payout_batches_build",
        "schedule": crontab(minute=11),
    },
    # Every day at 05:41 UTC, check the ledger's invariants against the payouts.
    "ledger-reconcile": {
        "task": "marketplace.ledger_reconcile",
        "schedule": crontab(hour=5, minute=41),
    },
    # Every 5 minutes, send again the scoring, sandbox and decision jobs of attempts that
    # waited longer than JOB_STUCK_SECONDS.
    "assessments-jobs-sweep": {
        "task": "assessments.jobs_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # Every 5 minutes (a minute later), the same for code runs, imports and aggregation runs.
    "evaluations-jobs-sweep": {
        "task": "evaluations.jobs_sweep",
        "schedule": crontab(minute="1-59/5"),
    },
    # Every 5 minutes (two minutes later), the same for the earnings of closed work sessions
    # and payout notices; payout batches left building are finished by payout-batches-build.
    "marketplace-jobs-sweep": {
        "task": "marketplace.jobs_sweep",
        "schedule": crontab(minute="2-59/5"),
    },
    # Every day at 03:17 UTC, delete expired log-in sessions.
    "sessions-clear-expired": {
        "task": "common.sessions_clear_expired",
        "schedule": crontab(hour=3, minute=17),
    },
    # Every hour at minute 29, delete log-in and password-reset counters whose window is over.
    "auth-attempts-purge": {
        "task": "contributors.auth_attempts_purge",
        "schedule": crontab(minute=29),
    },
}

# The cache carries what a worker shares with the web processes while a job runs (an import's
# live progress), so with a Redis broker it lives in Redis too; CACHE_URL overrides.
_CACHE_URL = env.str("CACHE_URL", default="") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
# A Redis that stops answering (hung, or a network that drops packets) fails the cache call in
# seconds, answered 503 (common.outages), instead of holding a web worker indefinitely.
CACHE_REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "KEY_PREFIX": "evalmarket",
            "OPTIONS": CACHE_REDIS_OPTIONS,
        }
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
