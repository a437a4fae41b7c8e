"""Shared fixtures, and the rules for tests that need real services.

Tests marked `postgres`, `celery_worker` or `browser` skip, with the reason, where PostgreSQL,
Redis or Chromium are missing. With EVALMARKET_REQUIRE_ALL_TESTS=1 (as .ci/run sets), any
skip fails the run instead, so CI cannot pass without having run them.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from common.sandbox import sandbox_check
from tests.contributors.factories import ContributorFactory, UserFactory

pytest_plugins = ["tests.celery_worker"]

REQUIRE_ALL = os.environ.get("EVALMARKET_REQUIRE_ALL_TESTS") == "1"


def using_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sandbox_ready = (
        sandbox_check() if any("sandbox" in item.keywords for item in items) else (True, "")
    )
    reasons = {
        "postgres": None
        if using_postgres()
        else "needs PostgreSQL: set DATABASE_URL=postgres://… (dev.py test finds a local one)",
        "celery_worker": None
        if using_postgres() and settings.CELERY_TEST_BROKER_URL.startswith("redis")
        else "needs PostgreSQL and Redis: set DATABASE_URL and CELERY_BROKER_URL=redis://…",
        "browser": None
        if chromium_path()
        else "needs Chromium: install the OS package `chromium` or set CHROMIUM_PATH",
        "sandbox": None if sandbox_ready[0] else f"needs the code sandbox: {sandbox_ready[1]}",
    }
    for item in items:
        for marker, reason in reasons.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
    # Browser tests last: while Playwright's browser lives, its event loop runs in this thread.
    items.sort(key=lambda item: "browser" in item.keywords)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REQUIRE_ALL:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"EVALMARKET_REQUIRE_ALL_TESTS=1 but {len(skipped)} test(s) skipped: failing the run.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def contributor(db):
    return ContributorFactory(status="active")


@pytest.fixture
def applicant(db):
    return ContributorFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(roles=("staff",), is_staff=True)


@pytest.fixture
def finance_admin(db):
    return UserFactory(roles=("finance_admin",), is_staff=True)


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client
