"""The Celery app, configured by the CELERY_* settings (config/settings/integrations/celery.py)."""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("evalmarket")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _sandbox_self_check(**_: object) -> None:
    """Prove the code sandbox's confinement when a worker starts, and say so in the log.

    Code answers are never run unconfined: without a working sandbox they wait for people.
    """
    from common.sandbox import sandbox_check

    available, why = sandbox_check()
    if available:
        logger.info("sandbox.ready")
    else:
        logger.warning("sandbox.unavailable", extra={"reason": why})
