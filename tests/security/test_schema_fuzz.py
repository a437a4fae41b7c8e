"""Schema fuzzing: schemathesis drives the API in-process through its own OpenAPI schema.

Every operation of the schema (drf-spectacular's generator, so it is the schema of this very
code) is called with generated requests, as a contributor (who is also a peer reviewer and a
grader) and as staff (who is also a finance admin), against a world of real objects: path
parameters are drawn from the ids of that world, so requests reach real rows (their own and
other people's) as often as they miss. Each answer must not be a server error, and must keep
to the schema: its status code documented, its content type and its body as declared.

Then the stateful mode chains operations along the links schemathesis infers from the schema
(an id a POST returns feeds the GET of that object, and so on).

The CI run is small and fixed (seed SEED, a few examples per operation); SCHEMA_FUZZ=full runs
many more examples and longer chains with the same seed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assessments.models import AttemptItem, GradingTask
from assessments.services import attempt_start, attempt_submit
from contributors.models import ContributorProfile, User
from evaluations import services as evaluations
from evaluations.models import (
    Assignment,
    CodeRun,
    ImportJob,
    QualityAction,
    Review,
    Submission,
    Task,
)
from marketplace import services as marketplace
from marketplace.models import (
    STANDINGS,
    EarningEntry,
    ManualTimeEntry,
    Payout,
    PayoutBatch,
    PayoutDispatch,
    PayPeriod,
    Project,
    Tier,
    WorkSession,
)
from marketplace.services.payouts import batch_build, payout_approve, payouts_send
from tests.assessments.helpers import answer_all, load_tiny
from tests.conftest import api_for
from tests.contributors.factories import ContributorFactory, UserFactory
from tests.evaluations.helpers import good_answers, jsonl, project_with_tasks, task_line, worker
from tests.evaluations.quality_helpers import do_task, reviewer, rubric_scores
from tests.figures import figure
from tests.marketplace.helpers import qualified
from tests.marketplace.payout_helpers import closed_period, earn

pytestmark = pytest.mark.django_db

SEED = int(os.environ.get("SCHEMA_FUZZ_SEED", "20260808"))
FULL = os.environ.get("SCHEMA_FUZZ") == "full"
# Examples per operation, per role: valid requests, then requests the schema calls invalid.
MODES = {
    GenerationMode.POSITIVE: 100 if FULL else 4,
    GenerationMode.NEGATIVE: 100 if FULL else 3,
}
STATEFUL_EXAMPLES = 100 if FULL else 15  # chains of calls, per role
STATEFUL_STEPS = 20 if FULL else 8  # calls per chain at most
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The world the requests land in.


@dataclass
class World:
    contributor: User
    staff: User
    ids: dict[str, list[Any]] = field(default_factory=dict)

    def token(self, user: User) -> str:
        """The user's API token; made again when a fuzzed `DELETE /auth/token/` revoked it."""
        token, _ = Token.objects.get_or_create(user=user, defaults={"key": f"{user.pk:040d}"})
        return token.key


def build_world(capture_on_commit) -> World:
    """A contributor and a staff member amid real projects, tasks, work, reviews, assessments,
    time, earnings and payouts, with other people's objects beside their own."""
    boss = UserFactory(roles=("staff", "finance_admin"), is_staff=True)
    me = qualified("general")
    me.groups.add(Group.objects.get(name="reviewer"))
    me = User.objects.get(pk=me.pk)

    # Evaluation work with peer and expert review, a second hourly project for time.
    project = project_with_tasks(
        6, overlap=2, actor=boss, pay_model="per_task", task_minutes=6, pay_rate=Decimal("30")
    )
    evaluations.quality_settings_set(
        project_id=project.pk, actor=boss, peer_review=True, expert_review=True
    )
    hourly = project_with_tasks(2, actor=boss, title="Hourly work")
    marketplace.membership_join(project_id=project.pk, user=me)
    marketplace.membership_join(project_id=hourly.pk, user=me)
    mine = do_task(project, me)
    other = worker(project)
    do_task(project, other)
    # A review of my submission by someone else, rejected, so that I may appeal; a review of
    # work on a project I never worked on, held by me.
    peer = reviewer()
    for waiting in Review.objects.filter(submission=mine, status=Review.Status.OPEN):
        evaluations.review_claim(review_id=waiting.pk, user=peer)
        evaluations.review_decide(
            review_id=waiting.pk,
            user=peer,
            verdict="reject",
            scores=rubric_scores(1),
            comment="Not quite.",
        )
    elsewhere = project_with_tasks(2, actor=boss, title="Reviewed elsewhere")
    evaluations.quality_settings_set(project_id=elsewhere.pk, actor=boss, peer_review=True)
    do_task(elsewhere)
    evaluations.review_next(user=me, project_id=elsewhere.pk)
    # An assignment in progress, with a draft.
    active = evaluations.assignment_next(project_id=project.pk, user=me)
    task = Task.objects.get(pk=active.task_id)
    evaluations.assignment_draft_save(assignment_id=active.pk, user=me, draft=good_answers(task))
    gold_task = Task.objects.filter(project=project).exclude(pk=task.pk).first()

    # Time: a running session on the hourly project and a manual entry waiting for staff.
    marketplace.session_start(user=me, project_id=hourly.pk)
    now = timezone.now()
    marketplace.manual_entry_create(
        user=me,
        project_id=hourly.pk,
        started_at=now - timedelta(hours=5),
        ended_at=now - timedelta(hours=4),
        reason="Worked offline on the train.",
    )

    # Imports and aggregation.
    with capture_on_commit(execute=True):
        evaluations.import_job_create(
            project_id=project.pk,
            actor=boss,
            upload=jsonl([task_line(n) for n in range(100, 103)]),
            name="more.jsonl",
            fmt="jsonl",
            skip_invalid=True,
        )
        run = evaluations.aggregation_request(project_id=project.pk, actor=boss)

    # Assessments: the tiny content; someone else's attempt waiting for grading, its first
    # grading task claimed by me.
    load_tiny()
    candidate = ContributorFactory(status="assessing")
    with capture_on_commit(execute=True):
        attempt = attempt_start(user=candidate, slug="starter")
        answer_all(attempt, candidate)
        attempt_submit(attempt_id=attempt.pk, user=candidate)
    first_grading = GradingTask.objects.filter(attempt=attempt).order_by("pk").first()
    GradingTask.objects.filter(pk=first_grading.pk).update(
        grader=me, status="claimed", claimed_at=now
    )

    # Money: approved earnings in a closed period, built into a batch, one payout sent.
    for person in (me, other):
        ContributorProfile.objects.filter(user=person).update(payout_email=f"p{person.pk}@x.test")
        earn(person, "40.00")
        earn(person, "12.50", project=project)
    period = closed_period()
    batch = batch_build(period_id=period.pk)
    payouts = list(batch.payouts.order_by("pk"))
    payout_approve(payout_id=payouts[0].pk, actor=boss)
    payouts_send(batch_id=batch.pk, actor=boss)

    action = QualityAction.objects.create(
        user=other,
        project=project,
        track="general",
        kind=QualityAction.Kind.REVOKE,
        status=QualityAction.Status.AWAITING,
        reason="Gold accuracy fell below the bar.",
        qualification_code="general",
    )

    ids: dict[str, list[Any]] = {
        "project_id": sorted(Project.objects.values_list("pk", flat=True)),
        "assignment_id": sorted(Assignment.objects.values_list("pk", flat=True)),
        "submission_id": sorted(Submission.objects.values_list("pk", flat=True)),
        "review_id": sorted(Review.objects.values_list("pk", flat=True)),
        "session_id": sorted(WorkSession.objects.values_list("pk", flat=True)),
        "job_id": sorted(ImportJob.objects.values_list("pk", flat=True)),
        "attempt_id": sorted({attempt.pk, *me.attempts.values_list("pk", flat=True)}),
        "item_id": sorted(AttemptItem.objects.values_list("pk", flat=True)),
        "user_id": [me.pk, other.pk, boss.pk],
        "profile_id": sorted(ContributorProfile.objects.values_list("pk", flat=True)),
        "period_id": sorted(PayPeriod.objects.values_list("pk", flat=True)),
        "batch_id": sorted(PayoutBatch.objects.values_list("pk", flat=True)),
        "payout_id": sorted(Payout.objects.values_list("pk", flat=True)),
        "dispatch_id": sorted(PayoutDispatch.objects.values_list("pk", flat=True)),
        "action_id": [action.pk],
        "slug": ["starter", "tiny-code"],
        "tier": list(Tier.values),
        "standing": list(STANDINGS),
        # Names shared by two kinds of object, told apart by their path.
        "/runs/": sorted(CodeRun.objects.values_list("pk", flat=True)),
        "/aggregations/": [run.pk],
        "/grading/": sorted(GradingTask.objects.values_list("pk", flat=True)),
        "/tasks/": [gold_task.pk, task.pk],
        "/earnings/": sorted(EarningEntry.objects.values_list("pk", flat=True)),
        "/time-entries/": sorted(ManualTimeEntry.objects.values_list("pk", flat=True)),
    }
    return World(contributor=me, staff=boss, ids=ids)


def pool_for(world: World, path: str, name: str) -> list[Any]:
    for prefix in ("/runs/", "/aggregations/", "/grading/", "/tasks/", "/earnings/"):
        if name in ("run_id", "task_id", "entry_id") and prefix in path:
            return world.ids[prefix]
    if name == "entry_id":
        return world.ids["/time-entries/"]
    return world.ids.get(name, [])


# The schema, loaded from the generator and bound to the WSGI application.


def load_schema() -> Any:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(OpenApiJsonRenderer().render(generated))
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = WSGIHandler()
    return schema


@dataclass
class Tally:
    cases: int = 0
    covered: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)
    server_errors: dict[str, str] = field(default_factory=dict)
    violations: dict[str, str] = field(default_factory=dict)

    def record(self, case: Any, response: Any) -> None:
        """Count the case and check its answer; each kind of failure is kept once per
        operation, with the request that showed it."""
        self.cases += 1
        label = case.operation.label
        self.covered.add(label)
        if response.status_code < 400:
            self.succeeded.add(label)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = f"{label} [{response.status_code}] {failure.title}"
                target = self.server_errors if response.status_code >= 500 else self.violations
                target.setdefault(
                    key, f"{key}: {failure.message[:600]}\n    {case.as_curl_command()[:600]}"
                )


def fuzz_operations(schema: Any, world: World, user: User, tally: Tally, mode: Any) -> None:
    for result in schema.get_all_operations():
        fuzz_operation(result.ok(), world, user, tally, mode)


def fuzz_operation(operation: Any, world: World, user: User, tally: Tally, mode: Any) -> None:
    if mode == GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.query)):
        return  # Nothing to make invalid but the path, which the world's ids fill in.

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=MODES[mode],
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: Any) -> None:
        for name in list(case.path_parameters or {}):
            pool = pool_for(world, operation.path, name)
            if pool:
                case.path_parameters[name] = data.draw(
                    st.sampled_from([*pool, case.path_parameters[name]])
                )
        headers = {"Authorization": f"Token {world.token(user)}"}
        response = case.call(headers=headers, buffered=True)
        tally.record(case, response)

    run()


@pytest.fixture
def in_process_wsgi() -> Iterator[None]:
    """Keep the test's database connection across requests, as Django's test client does: the
    WSGI handler would otherwise close it when each request finishes, transaction and all."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def fuzz_links(schema: Any, world: World, user: User, tally: Tally) -> None:
    """Chains of calls along the links schemathesis infers: what one call returns (an id, a
    URL) feeds the next, so objects made by the fuzzer are read, changed and acted on."""

    class Links(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every chain starts from the same world: Hypothesis replays a chain's beginning
            # and must see the same answers. Marked as Django's TestCase marks its own
            # blocks, so that durable services may still open theirs inside.
            self.scenario = transaction.atomic()
            self.scenario._from_testcase = True
            self.scenario.__enter__()

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Token {world.token(user)}"}, "buffered": True}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            tally.record(case, response)

    hypothesis.seed(SEED)(Links)
    Links.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )


def test_schema_fuzz_finds_no_server_error_and_no_schema_violation(
    django_capture_on_commit_callbacks, in_process_wsgi
) -> None:
    world = build_world(django_capture_on_commit_callbacks)
    schema = load_schema()
    total = sum(1 for _ in schema.get_all_operations())
    tally = Tally()
    for user in (world.contributor, world.staff):
        for mode in MODES:
            fuzz_operations(schema, world, user, tally, mode)
        fuzz_links(schema, world, user, tally)

    figure(
        "schema_fuzz",
        operations_covered=len(tally.covered),
        operations_total=total,
        cases=tally.cases,
        server_errors=len(tally.server_errors),
        schema_violations=len(tally.violations),
        seed=SEED,
        operations_2xx=len(tally.succeeded),
    )
    assert not tally.server_errors, "\n".join(tally.server_errors.values())
    assert not tally.violations, "\n".join(tally.violations.values())


# Each defect the fuzzer found, alone.


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return json.loads(
        OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    )


def test_an_api_url_that_matches_no_route_answers_404_in_the_error_shape(api_client) -> None:
    response = api_client.get("/api/v1/runs/-1/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found", "fields": {}}


def test_a_page_url_that_matches_no_route_still_answers_a_page(client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_more_form_fields_than_django_reads_is_a_400_in_the_error_shape(staff_user) -> None:
    body = "&".join(f"entries={number}" for number in range(1, 1200))

    response = api_for(staff_user).post(
        "/api/v1/earnings/approve/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_an_unfinished_profile_keeps_to_its_schema(generated, applicant) -> None:
    applicant.profile.education_level = ""
    applicant.profile.payout_email = ""
    applicant.profile.save(update_fields=["education_level", "payout_email"])
    shape = generated["components"]["schemas"]["ProfileOutput"]["properties"]

    body = api_for(applicant).get("/api/v1/me/profile/").json()

    assert (body["education_level"], body["payout_email"]) == ("", "")
    assert "BlankEnum" in json.dumps(shape["education_level"])
    assert "format" not in shape["payout_email"]


def test_the_payout_cut_off_time_is_declared_as_the_wall_clock_time_it_is(
    generated, finance_admin
) -> None:
    shape = generated["components"]["schemas"]["PayoutSettingsOutput"]["properties"]

    body = api_for(finance_admin).get("/api/v1/finance/payout-settings/").json()

    assert "format" not in shape["cutoff_time"]
    assert re.fullmatch(shape["cutoff_time"]["pattern"], body["cutoff_time"])


def test_every_operation_declares_the_400_and_415_it_can_answer_before_its_view(
    generated,
) -> None:
    missing = [
        f"{method.upper()} {path} {status}"
        for path, operations in generated["paths"].items()
        for method, operation in operations.items()
        for status in ("400", "415")
        if status not in operation["responses"] and (status == "400" or "requestBody" in operation)
    ]

    assert missing == []


def test_a_body_of_a_media_type_the_operation_does_not_read_is_a_415(staff_user) -> None:
    response = api_for(staff_user).post(
        "/api/v1/time-entries/", "reason", content_type="text/plain"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("url", "name"),
    [("/api/v1/earnings/approve/", "entries"), ("/api/v1/finance/payouts/mark-paid/", "payouts")],
)
def test_an_id_list_with_an_id_past_any_row_is_a_400(url, name) -> None:
    boss = UserFactory(roles=("staff", "finance_admin"), is_staff=True)

    response = api_for(boss).post(url, {name: [3, 10**30]}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [f"{name}.1"]
