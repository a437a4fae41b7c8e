"""The load scenario run by bench/load.py, in locust's own venv (bench/.envs/locust).

It uses only locust (and the requests it ships with), never the service's code: what it knows of
the seeded database (tokens, session keys, ids) comes from the JSON file named by LOAD_SEED.

Users, by weight: contributors (next task → submit; time sessions: start, heartbeat, stop, with
a second start racing the first now and then), reviewers (next review → verdict), applicants
(two Starter starts at once for the same person, then submit the one that was made), staff
(dashboard, project quality and manage pages, admin changelists) and finance admins (two admins
approving the same payout at once). A refusal the service is meant to give (409 for the racing
second start, 404 when no review is waiting, 403/409 for the losing approval) counts as a
success; anything else that is not 2xx counts as a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random

import gevent
from locust import HttpUser, between, task

SEED = json.loads(open(os.environ["LOAD_SEED"]).read())  # noqa: SIM115
PROJECT = SEED["project"]
WORDS = [
    "answer",
    "clear",
    "correct",
    "complete",
    "concise",
    "accurate",
    "relevant",
    "helpful",
    "direct",
    "detailed",
]
_contributors = itertools.count()
_reviewers = itertools.count()
_applicants = itertools.count()
_staff = itertools.count()
_payouts = itertools.count()


def _expect(response, *allowed: int) -> None:
    """Mark a response with an allowed status as a success, anything else as a failure."""
    if response.status_code in allowed:
        response.success()
    else:
        response.failure(f"HTTP {response.status_code}: {response.text[:200]}")


class Contributor(HttpUser):
    weight = 10
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        token = SEED["contributors"][next(_contributors) % len(SEED["contributors"])]
        self.client.headers["Authorization"] = f"Token {token}"

    @task(6)
    def next_and_submit(self) -> None:
        with self.client.post(
            f"/api/v1/projects/{PROJECT}/next/",
            name="POST /api/v1/projects/[id]/next/",
            catch_response=True,
        ) as response:
            _expect(response, 200)
            if response.status_code != 200:
                return
            assignment = response.json()
        ids = [item["id"] for item in assignment["task"]["responses"]]
        answers = {
            "helpfulness": dict.fromkeys(ids, 5),
            "better": {"choice": ids[0], "strength": 2},
            "rationale": " ".join(random.choices(WORDS, k=12)),
        }
        with self.client.post(
            f"/api/v1/assignments/{assignment['id']}/submit/",
            json={"answers": answers},
            name="POST /api/v1/assignments/[id]/submit/",
            catch_response=True,
        ) as response:
            _expect(response, 201)

    @task(2)
    def time_session(self) -> None:
        def start() -> dict | None:
            with self.client.post(
                "/api/v1/sessions/",
                json={"project": PROJECT},
                name="POST /api/v1/sessions/",
                catch_response=True,
            ) as response:
                # 409: this person's other start won the race (or a session is still open).
                _expect(response, 201, 409)
                return response.json() if response.status_code == 201 else None

        racing = random.random() < 0.3
        starts = [gevent.spawn(start) for _ in range(2 if racing else 1)]
        gevent.joinall(starts)
        made = [greenlet.value for greenlet in starts if greenlet.value]
        if not made:
            # A session left open (e.g. by an earlier race): find it and stop it.
            listed = self.client.get("/api/v1/sessions/", name="GET /api/v1/sessions/").json()
            rows = listed.get("results", listed) if isinstance(listed, dict) else listed
            made = [row for row in rows if row.get("ended_at") is None]
        for session in made:
            with self.client.post(
                f"/api/v1/sessions/{session['id']}/heartbeat/",
                name="POST /api/v1/sessions/[id]/heartbeat/",
                catch_response=True,
            ) as response:
                _expect(response, 200)
            with self.client.post(
                f"/api/v1/sessions/{session['id']}/stop/",
                name="POST /api/v1/sessions/[id]/stop/",
                catch_response=True,
            ) as response:
                _expect(response, 200)

    @task(1)
    def my_dashboard(self) -> None:
        self.client.get("/api/v1/dashboard/", name="GET /api/v1/dashboard/")


class Reviewer(HttpUser):
    weight = 3
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        token = SEED["reviewers"][next(_reviewers) % len(SEED["reviewers"])]
        self.client.headers["Authorization"] = f"Token {token}"

    @task
    def review(self) -> None:
        with self.client.post(
            "/api/v1/reviews/next/", name="POST /api/v1/reviews/next/", catch_response=True
        ) as response:
            _expect(response, 200, 404)  # 404: nothing waits for review just now
            if response.status_code != 200:
                return
            review = response.json()
        scores = {item["name"]: 4 for item in review["rubric"]}
        with self.client.post(
            f"/api/v1/reviews/{review['id']}/verdict/",
            json={
                "verdict": random.choice(["accept", "accept", "reject"]),
                "scores": scores,
                "comment": "The rationale does not say which fact is wrong.",
            },
            name="POST /api/v1/reviews/[id]/verdict/",
            catch_response=True,
        ) as response:
            _expect(response, 200)


class Applicant(HttpUser):
    weight = 2
    wait_time = between(0.5, 1.5)

    @task
    def starter(self) -> None:
        index = next(_applicants)
        if index >= len(SEED["applicants"]):
            return
        headers = {"Authorization": f"Token {SEED['applicants'][index]}"}

        def start() -> int | None:
            with self.client.post(
                "/api/v1/attempts/",
                json={"assessment": "starter"},
                headers=headers,
                name="POST /api/v1/attempts/ (starter)",
                catch_response=True,
            ) as response:
                _expect(response, 201, 409)  # 409: the other start of this person won
                return response.json()["id"] if response.status_code == 201 else None

        starts = [gevent.spawn(start) for _ in range(2)]  # the same person, twice at once
        gevent.joinall(starts)
        for attempt_id in [greenlet.value for greenlet in starts if greenlet.value]:
            self.client.get(
                f"/api/v1/attempts/{attempt_id}/",
                headers=headers,
                name="GET /api/v1/attempts/[id]/",
            )
            with self.client.post(
                f"/api/v1/attempts/{attempt_id}/submit/",
                headers=headers,
                name="POST /api/v1/attempts/[id]/submit/",
                catch_response=True,
            ) as response:
                _expect(response, 200)


class Staff(HttpUser):
    weight = 2
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        key = SEED["staff_sessions"][next(_staff) % len(SEED["staff_sessions"])]
        self.client.cookies.set("sessionid", key)

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/dashboard/", name="GET /dashboard/")

    @task(2)
    def quality(self) -> None:
        self.client.get(
            f"/work/projects/{PROJECT}/quality/", name="GET /work/projects/[id]/quality/"
        )

    @task(1)
    def manage(self) -> None:
        self.client.get(f"/work/projects/{PROJECT}/manage/", name="GET /work/projects/[id]/manage/")

    @task(2)
    def admin_tasks(self) -> None:
        self.client.get("/admin/evaluations/task/", name="GET /admin/evaluations/task/")

    @task(1)
    def admin_payouts(self) -> None:
        self.client.get("/admin/marketplace/payout/", name="GET /admin/marketplace/payout/")


class Finance(HttpUser):
    weight = 1
    wait_time = between(0.5, 1.5)

    @task
    def approve_race(self) -> None:
        index = next(_payouts)
        if index >= len(SEED["payouts"]):
            return
        payout = SEED["payouts"][index]

        def approve(token: str) -> None:
            with self.client.post(
                f"/api/v1/finance/payouts/{payout}/approve/",
                headers={"Authorization": f"Token {token}"},
                name="POST /api/v1/finance/payouts/[id]/approve/",
                catch_response=True,
            ) as response:
                # 409: the other admin's approval came first (or four-eyes asks for another).
                _expect(response, 200, 409)

        racers = [gevent.spawn(approve, token) for token in SEED["finance"]]
        gevent.joinall(racers)
        self.client.get(
            f"/api/v1/finance/payouts/{payout}/",
            headers={"Authorization": f"Token {SEED['finance'][0]}"},
            name="GET /api/v1/finance/payouts/[id]/",
        )
