"""The Celery app, configured by the CELERY_* settings (config/settings/integrations/celery.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("evalmarket")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
