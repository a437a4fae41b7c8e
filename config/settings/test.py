"""The test suite: PostgreSQL and Redis when the environment names them, SQLite otherwise."""

import tempfile
from pathlib import Path

from config.env import env
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "django-insecure-test-suite-only"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; tests only
# The test process always uses the locmem outbox (pytest-django sets it); a worker process
# started by the `celery_worker` fixture writes mail to files the test can read.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
SITE_URL = "http://testserver"

# Unit tests run tasks in-process; the `celery_worker` fixture turns this off for the tests that
# send real messages through Redis to a worker process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TEST_BROKER_URL = env.str("CELERY_BROKER_URL", default="")

# Static files come from the apps' folders (no collectstatic in tests).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Each test process keeps its own cache, so no test sees what another run left in Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Uploads go to a folder outside the checkout, the same one for the test process and the worker
# processes it starts.
MEDIA_ROOT = env.str(
    "MEDIA_ROOT", default=str(Path(tempfile.gettempdir()) / "evalmarket-test-media")
)

# A connection per request in tests (the live server's threads must not keep theirs open past
# the test); benchmarks that use these settings ask for persistent ones.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)  # noqa: F405
