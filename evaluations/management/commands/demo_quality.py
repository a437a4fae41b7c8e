"""Show the quality layer on a demo project: rules, a gold task, work by several people,
reviews with verdicts, aggregation and standings (idempotent). Development only."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from contributors.models import User
from evaluations import services
from evaluations.models import Review, Submission, Task
from marketplace import services as marketplace
from marketplace.models import Project

TITLE = "Rate summaries for faithfulness"
PEOPLE = ("contributor@demo.local", "crowd1@demo.local", "crowd2@demo.local", "crowd3@demo.local")
RATIONALES = {
    "a": [
        "Response A gives the right facts and explains them; B is wrong on the key point.",
        "A is correct and specific, while B states something false that would mislead.",
        "The first answer is accurate and complete; the second one gets the main fact wrong.",
    ],
    "b": [
        "Response B is correct and explains why; A gets the central fact wrong.",
        "B answers the question accurately, A contains a factual error.",
        "The second response is right and more careful, the first one is simply wrong.",
    ],
}


class Command(BaseCommand):
    help = "Quality demo: rules, gold, work by several people, reviews, aggregation. DEBUG only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_quality is for development only (DEBUG is off).")
        staff = User.objects.filter(email="staff@demo.local").first()
        project = Project.objects.filter(title=TITLE).first()
        if staff is None or project is None or not Task.objects.filter(project=project).exists():
            raise CommandError("Run demo_load, demo_projects and demo_tasks first.")
        if Submission.objects.filter(project=project).exists():
            return
        services.quality_settings_set(
            project_id=project.pk,
            actor=staff,
            peer_review=True,
            expert_review=True,
            review_first_n=2,
            review_rate=0.3,
            expert_audit_rate=0.2,
            gold_ratio=0.15,
            min_rationale_chars=30,
        )
        gold = Task.objects.get(project=project, external_id="demo-1")  # the capital of Australia
        services.gold_set(
            task_id=gold.pk,
            actor=staff,
            answers={"better": {"choice": "b", "strength": 3}, "accuracy": {"a": 1, "b": 7}},
            tolerances={"accuracy": 1},
        )
        rng = random.Random(2026)  # noqa: S311 - demo data from a fixed seed
        for email in PEOPLE:
            self._work(project, User.objects.get(email=email), rng, careless=email == PEOPLE[0])
        self._review(project)
        run = services.aggregation_request(project_id=project.pk, actor=staff)
        services.aggregation_run(run_id=run.pk)
        services.standings_update()
        self.stdout.write(
            f"  {project.title}: {Submission.objects.filter(project=project).count()} "
            f"submissions, {Review.objects.filter(project=project).count()} reviews"
        )

    def _work(self, project: Project, person: User, rng: random.Random, *, careless: bool) -> None:
        try:
            marketplace.membership_join(project_id=project.pk, user=person)
        except DomainError:
            return
        for _ in range(4 if careless else 6):
            try:
                assignment = services.assignment_next(project_id=project.pk, user=person)
            except DomainError:
                return
            task = Task.objects.get(pk=assignment.task_id)
            seen = assignment.response_order
            good = (
                "b"
                if "Canberra" in task.responses[1]["text"] or "No." in (task.responses[1]["text"])
                else "a"
            )
            pick = ("b" if good == "a" else "a") if careless and rng.random() < 0.5 else good
            other = "b" if pick == "a" else "a"
            answers = {
                "helpfulness": {pick: rng.randint(5, 7), other: rng.randint(1, 3)},
                "accuracy": {pick: rng.randint(5, 7), other: rng.randint(1, 3)},
                "better": {"choice": pick, "strength": rng.randint(2, 3)},
                # Written with the letters this person saw (the order is shuffled per person).
                "rationale": rng.choice(RATIONALES["a" if seen[0] == pick else "b"]),
            }
            services.submission_submit(assignment_id=assignment.pk, user=person, answers=answers)

    def _review(self, project: Project) -> None:
        reviewer = User.objects.get(email="reviewer@demo.local")
        first_rejected = False
        while True:
            try:
                review = services.review_next(user=reviewer, project_id=project.pk)
            except DomainError:
                break
            submission = review.submission
            careless = submission.contributor.email == PEOPLE[0]
            if careless and not first_rejected:
                first_rejected = True
                services.review_decide(
                    review_id=review.pk,
                    user=reviewer,
                    verdict=Review.Verdict.REJECT,
                    scores={"accuracy": 1, "rationale": 2},
                    comment="The preferred response states a factual error; check the facts "
                    "before comparing style.",
                    staff_note="Second careless answer from this person this week.",
                )
            else:
                services.review_decide(
                    review_id=review.pk,
                    user=reviewer,
                    verdict=Review.Verdict.ACCEPT,
                    scores={"accuracy": 4, "rationale": 4},
                    comment="Clear and correct.",
                )
