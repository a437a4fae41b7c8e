"""Dashboard benchmark: 10,000 projects, 100,000 contributors with qualifications.

    python3 dev.py bench dashboard            # seeds once, then measures; rerun to measure again

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/evalmarket_bench), seeded on the first run. It requests the
dashboard page and its API for random contributors through Django's test client, in-process,
and reports p50 and p95 in milliseconds and the SQL queries per request. Results go to
bench/results/dashboard.json and the table in bench/README.md.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evalmarket_bench"
)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["LOG_LEVEL"] = "WARNING"

PROJECTS = 10_000
CONTRIBUTORS = 100_000
REQUESTS = 200
SEED = 20261128


def ensure_database() -> None:
    import psycopg

    name = BENCH_URL.rsplit("/", 1)[1]
    admin_url = BENCH_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def seed() -> None:
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from contributors.models import ContributorProfile, Credential, Qualification, User
    from marketplace.models import Membership, Project, ProjectLanguage, ProjectRequirement

    if (
        Project.objects.count() >= PROJECTS
        and User.objects.filter(profile__isnull=False).count() >= CONTRIBUTORS
    ):
        print("bench: data already seeded")
        return
    rng = random.Random(SEED)
    started = time.monotonic()
    now = timezone.now()
    group = Group.objects.get(name="contributor")
    languages = ["de", "fr", "es", "ja", "pt", "it", "zh", "ko"]
    sciences = ["mathematics", "physics", "biology", "chemistry"]
    professions = ["law", "finance", "medicine"]
    coding = ["python", "javascript", "cpp", "sql", "java"]
    batch = 5000
    for start in range(0, CONTRIBUTORS, batch):
        users = User.objects.bulk_create(
            User(
                email=f"bench{n}@bench.local",
                full_name=f"Bench {n}",
                password="!unusable",
                email_verified_at=now,
            )
            for n in range(start, start + batch)
        )
        Group.user_set.through.objects.bulk_create(
            Group.user_set.through(user_id=user.pk, group_id=group.pk) for user in users
        )
        profiles = ContributorProfile.objects.bulk_create(
            ContributorProfile(user=user, status="active", application_submitted_at=now)
            for user in users
        )
        quals, credentials = [], []
        for user, profile in zip(users, profiles, strict=True):
            codes = {"general"}
            if rng.random() < 0.25:
                codes.add(f"programming:{rng.choice(coding)}")
            if rng.random() < 0.15:
                codes.add(rng.choice(sciences))
            if rng.random() < 0.05:
                profession = rng.choice(professions)
                codes.add(profession)
                if rng.random() < 0.5:
                    credentials.append(
                        Credential(
                            profile=profile, kind=profession, licence_number="B", jurisdiction="X"
                        )
                    )
            if rng.random() < 0.2:
                codes.add(f"language:{rng.choice(languages)}")
            quals += [Qualification(user=user, code=code, source="bench") for code in codes]
        Qualification.objects.bulk_create(quals)
        Credential.objects.bulk_create(credentials)
        print(f"bench: contributors {start + batch:,}/{CONTRIBUTORS:,}", flush=True)
    tiers = [
        ("general", 60),
        ("coding", 15),
        ("stem", 10),
        ("professional", 5),
        ("multilingual", 10),
    ]
    floors = {"general": 20, "coding": 40, "stem": 40, "professional": 50, "multilingual": 20}
    projects = Project.objects.bulk_create(
        Project(
            title=f"Bench project {n}",
            description="A benchmark project with **Markdown** in its description.",
            tier=(tier := rng.choices([t for t, _ in tiers], weights=[w for _, w in tiers])[0]),
            pay_model=rng.choice(["hourly", "per_task"]),
            pay_rate=Decimal(floors[tier] + rng.randint(0, 30)),
            task_minutes=rng.randint(3, 30),
            capacity=rng.randint(5, 200),
            priority=rng.randint(0, 20),
            status=rng.choices(["active", "draft", "paused", "completed"], weights=[80, 8, 6, 6])[
                0
            ],
        )
        for n in range(PROJECTS)
    )
    requirements, project_languages = [], []
    for project in projects:
        requirements.append(ProjectRequirement(project=project, code="general", mode="all"))
        if project.tier == "coding":
            requirements.append(
                ProjectRequirement(
                    project=project, code=f"programming:{rng.choice(coding)}", mode="all"
                )
            )
        elif project.tier == "stem":
            for code in rng.sample(sciences, 2):
                requirements.append(ProjectRequirement(project=project, code=code, mode="any"))
        elif project.tier == "professional":
            requirements.append(
                ProjectRequirement(project=project, code=rng.choice(professions), mode="all")
            )
        elif project.tier == "multilingual":
            language = rng.choice(languages)
            requirements.append(
                ProjectRequirement(project=project, code=f"language:{language}", mode="all")
            )
            project_languages.append(ProjectLanguage(project=project, language=language))
        project_languages.append(ProjectLanguage(project=project, language="en"))
    ProjectRequirement.objects.bulk_create(requirements, batch_size=batch)
    ProjectLanguage.objects.bulk_create(project_languages, batch_size=batch)
    user_ids = list(User.objects.filter(profile__isnull=False).values_list("pk", flat=True))
    active = [p for p in projects if p.status == "active"]
    pairs = {(rng.choice(active).pk, rng.choice(user_ids)) for _ in range(50_000)}
    Membership.objects.bulk_create(
        (Membership(project_id=p, user_id=u) for p, u in pairs), batch_size=batch
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"bench: seeded in {time.monotonic() - started:.0f} s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure() -> dict[str, object]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contributors.models import User
    from marketplace.models import Project

    rng = random.Random(SEED + 1)
    ids = list(User.objects.filter(profile__isnull=False).values_list("pk", flat=True))
    results = {}
    for name, path in (
        ("page /dashboard/", "/dashboard/"),
        ("API /api/v1/dashboard/", "/api/v1/dashboard/"),
    ):
        times, queries, shown = [], set(), []
        for index in range(REQUESTS + 10):
            user = User.objects.get(pk=rng.choice(ids))
            client = Client()
            client.force_login(user)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.status_code
            if index >= 10:  # the first requests warm caches and connections
                times.append(elapsed)
                queries.add(len(captured.captured_queries))
                if path.startswith("/api/"):
                    shown.append(len(response.json()["results"]))
        results[name] = {
            "requests": REQUESTS,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "max_ms": round(max(times), 1),
            "queries_per_request": sorted(queries),
        }
    results["sizes"] = {
        "projects": Project.objects.count(),
        "active_projects": Project.objects.filter(status="active").count(),
        "contributors": len(ids),
    }
    return results


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    python = platform.python_version()
    return f"{platform.machine()}, {cores} cores{memory}, Python {python}, {platform.system()}"


def write(results: dict[str, object]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": postgres,
        **results,
    }
    (ROOT / "bench" / "results" / "dashboard.json").write_text(json.dumps(record, indent=2) + "\n")
    sizes = results["sizes"]
    lines = [
        f"Measured {record['date']} on {record['machine']}, PostgreSQL {postgres}; "
        f"{sizes['projects']:,} projects ({sizes['active_projects']:,} active), "
        f"{sizes['contributors']:,} contributors; {REQUESTS} requests each, random contributors.",
        "",
        "| request | p50 ms | p95 ms | max ms | SQL queries per request |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in results.items():
        if name == "sizes":
            continue
        lines.append(
            f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
            f"{', '.join(str(q) for q in row['queries_per_request'])} |"
        )
    table = "\n".join(lines)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- dashboard:start -->", "<!-- dashboard:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    print(table)


def main() -> None:
    import django

    ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("assessments_load", verbosity=0)
    seed()
    write(measure())


if __name__ == "__main__":
    main()
