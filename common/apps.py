import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common plumbing"

    def ready(self) -> None:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            logger.info(
                "celery.eager_mode: no CELERY_BROKER_URL is set, so background jobs run "
                "in-process inside the web request; set CELERY_BROKER_URL and start a worker "
                "for production"
            )
