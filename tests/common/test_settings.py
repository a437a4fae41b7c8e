"""Settings that later work relies on: Celery's safety settings and production's refusals."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k7Qm2xV9pL4sN8wR1tY6uI3oP5aS0dF2gH7jK9lZ4xC8vB1nM6qW3eR5tY7uI9oP2"


def test_celery_acknowledges_late_and_requeues_when_a_worker_dies() -> None:
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_celery_speaks_json_only() -> None:
    conf = celery_app.conf
    assert (conf.task_serializer, conf.result_serializer, list(conf.accept_content)) == (
        "json",
        "json",
        ["json"],
    )


def test_celery_time_limits_stay_below_the_visibility_timeout() -> None:
    conf = celery_app.conf
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit < visibility


def test_celery_queues_are_named_by_kind_of_job() -> None:
    names = {queue.name for queue in celery_app.conf.task_queues}
    assert names == {
        "default",
        "email",
        "scoring",
        "sandbox",
        "aggregation",
        "payouts",
        "maintenance",
    }
    assert (
        celery_app.amqp.router.route({}, "contributors.email_verification_send")["queue"].name
        == "email"
    )


def _django_check(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "ALLOWED_HOSTS": "eval.example.org",
        }
    )
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _django_check({})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("key", ["short", "django-insecure-" + "x" * 60, "a" * 80])
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    result = _django_check({"DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr


def test_production_settings_pass_the_deployment_checklist() -> None:
    result = _django_check({"DJANGO_SECRET_KEY": STRONG_KEY}, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_test_settings_never_talk_to_a_real_mail_server() -> None:
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"


def test_a_hung_redis_cache_fails_within_seconds() -> None:
    """A server that takes the connection and never answers (a hung Redis): the cache call gives
    up after its socket timeout, an error answered 503 (common.outages), instead of holding the
    web worker."""
    import socket
    import time

    import redis
    from django.core.cache.backends.redis import RedisCache

    from common.outages import is_outage

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # the kernel completes the connection; nobody ever reads or answers
    try:
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        cache = RedisCache(url, {"OPTIONS": settings.CACHE_REDIS_OPTIONS})
        started = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError) as error:
            cache.get("progress")
        assert time.monotonic() - started < 5
        assert is_outage(error.value)
    finally:
        listener.close()
