from __future__ import annotations

from importlib import import_module

from django.conf import settings


def sessions_clear_expired() -> None:
    """Delete expired log-in sessions from the session store."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
