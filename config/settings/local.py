"""Development on one machine: the zero-setup defaults (SQLite, Celery in-process, console mail)."""

from config.env import env
from config.settings.base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="django-insecure-local-development-only-never-in-production"
)
