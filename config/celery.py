"""The Celery app, configured by the CELERY_* settings (config/settings/integrations/celery.py)."""

import logging
import os

from celery import Celery
from celery.signals import worker_init, worker_ready

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("evalmarket")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _sandbox_self_check(**_: object) -> None:
    """Prove the code sandbox's confinement when a worker starts, before its pool processes fork.

    sandbox_check() keeps its answer and every pool process inherits it: when it failed, they
    refuse sandbox jobs, and code answers wait for people instead of running unconfined.
    """
    from common.sandbox import sandbox_check

    sandbox_check()


@worker_ready.connect
def _sandbox_self_check_report(**_: object) -> None:
    """Say in the log what the start-up check found (logging is set up by now)."""
    from common.sandbox import sandbox_check

    available, why = sandbox_check()
    if available:
        logger.info("sandbox.ready")
    else:
        logger.warning("sandbox.unavailable", extra={"reason": why})
