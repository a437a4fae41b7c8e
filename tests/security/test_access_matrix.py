"""The access-control matrix (issue 8, part 1).

Every API operation (from the OpenAPI schema, generated now) and every page (from the URL
resolver), with each method it answers, is called as the seven roles of tests/security/world.py:
the owner of every object the path names, another contributor, a reviewer of another track,
staff, a finance admin, someone anonymous and a suspended contributor. Unsafe methods carry an
empty body (so most are refused as invalid before any work); every call starts from the same
database state and is rolled back after.

What each role may get is declared in ONE table, EXPECTED, by route name and method; a route the
table does not name fails, and so does a name it has but the app does not. On top of the status:

* state: a call whose class is not `ok` or `redirect` must leave every table as it was;
* lists: rows of a list belong to the caller (FOREIGN_ROWS says how to tell, and who sees all);
* leaks: every answer a contributor gets (the owner, the other contributor, the reviewer, the
  suspended one), page or JSON, is searched for the planted SENTINELS, for other people's pay
  (PAY) and e-mail addresses and, when it is JSON, for the keys in NEVER_FOR_CONTRIBUTORS, for
  answer keys inside a question and for the gold check's flag;
* privileged writes: PRIVILEGED_WRITES sends `is_staff`, status, tier, rate, score, standing and
  approval fields along with a request that succeeds, and the database must not take them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from assessments.models import Attempt, AttemptItem, GradingTask
from assessments.services import grading_rubric
from contributors.models import ContributorProfile, Qualification, StandingChange, User
from evaluations.models import Assignment, Review, Submission
from marketplace.models import EarningEntry, ManualTimeEntry, Payout, WorkSession
from tests.figures import figure
from tests.security import access
from tests.security.access import OK, WRITES_ALLOWED
from tests.security.world import CONTRIBUTOR_ROLES, PAY, ROLES, SENTINELS, World, build_world

pytestmark = pytest.mark.django_db

# Columns: owner, other contributor, reviewer of another track, staff, finance admin,
# anonymous, suspended. Classes: ok (2xx; may write), redirect (a page's 3xx elsewhere than the
# log-in; may write), refused (a page answered a POST but wrote nothing), denied (401/403, or a
# page's redirect to the log-in), hidden (404), invalid (400: the empty body), conflict (409).
MINE = "ok hidden hidden hidden hidden denied denied"  # the owner's object, nobody else's
SIGNED_IN = "ok ok ok ok ok denied denied"  # each signed-in person gets their own
ANYONE = "ok ok ok ok ok ok ok"
STAFF = "denied denied denied ok denied denied denied"  # project managers
STAFF_EMPTY = "denied denied denied invalid denied denied denied"  # …with an empty body
FINANCE = "denied denied denied denied ok denied denied"
FINANCE_EMPTY = "denied denied denied denied invalid denied denied"
MONEY_EMPTY = "denied denied denied invalid invalid denied denied"  # staff and finance adjust pay
OWN_EMPTY = "invalid invalid invalid invalid invalid denied denied"  # shape is checked first
PAGE_POST = "refused refused refused refused refused denied denied"  # a GET page posted to
PAGE_POST_MINE = "refused hidden hidden hidden hidden denied denied"
PAGE_POST_STAFF = "denied denied denied refused denied denied denied"
PUBLIC_PAGE_POST = "refused refused refused refused refused refused refused"
CONTRIBUTOR_ONLY = "ok ok ok redirect redirect denied denied"  # staff have no application

EXPECTED: dict[tuple[str, str], str] = {
    # Accounts. The suspended person's token is refused (401) even where no one needs one.
    ("auth-signup", "POST"): "invalid invalid invalid invalid invalid invalid denied",
    ("auth-token", "POST"): "invalid invalid invalid invalid invalid invalid denied",
    ("auth-token", "DELETE"): SIGNED_IN,
    ("auth-email-verify", "POST"): "invalid invalid invalid invalid invalid invalid denied",
    ("auth-email-resend", "POST"): "conflict conflict conflict conflict conflict denied denied",
    ("me", "GET"): SIGNED_IN,
    ("me-profile", "GET"): "ok ok ok hidden hidden denied denied",
    ("me-profile", "PATCH"): "ok ok ok hidden hidden denied denied",
    ("me-profile", "PUT"): "invalid invalid invalid hidden hidden denied denied",
    ("me-application", "GET"): "ok ok ok hidden hidden denied denied",
    ("me-application-submit", "POST"): "ok ok ok hidden hidden denied denied",
    ("profile-list", "GET"): SIGNED_IN,
    ("profile-detail", "GET"): "ok hidden hidden ok ok denied denied",
    ("profile-history", "GET"): "ok hidden hidden ok ok denied denied",
    ("profile-status-change", "POST"): STAFF_EMPTY,
    ("standing-set", "POST"): STAFF_EMPTY,
    # Assessments and grading. The reviewer grades another track: nothing waits for them.
    ("assessment-list", "GET"): SIGNED_IN,
    ("assessment-detail", "GET"): SIGNED_IN,
    ("attempt-list", "GET"): SIGNED_IN,
    ("attempt-list", "POST"): OWN_EMPTY,
    ("attempt-detail", "GET"): MINE,
    ("attempt-answer", "PUT"): OWN_EMPTY,
    ("attempt-submit", "POST"): MINE,
    ("attempt-trail", "GET"): "hidden hidden hidden ok hidden denied denied",
    ("grading-task-list", "GET"): SIGNED_IN,
    ("grading-task-claim", "POST"): "ok denied ok denied denied denied denied",
    ("grading-task-detail", "GET"): MINE,
    ("grading-task-submit", "POST"): OWN_EMPTY,
    ("grading-backlog", "GET"): STAFF,
    # Rates, projects, time and the ledger.
    ("tier-list", "GET"): SIGNED_IN,
    ("tier-floor-set", "POST"): STAFF_EMPTY,
    ("multiplier-list", "GET"): SIGNED_IN,
    ("multiplier-set", "POST"): STAFF_EMPTY,
    ("project-list", "GET"): STAFF,
    ("project-list", "POST"): STAFF_EMPTY,
    ("project-detail", "GET"): SIGNED_IN,  # an active project is open to everyone
    ("project-detail", "PATCH"): STAFF,
    ("project-transition", "POST"): STAFF_EMPTY,
    ("project-join", "POST"): "ok ok denied denied denied denied denied",  # members already
    ("project-leave", "POST"): SIGNED_IN,  # leaving what one is not in changes nothing
    ("dashboard", "GET"): SIGNED_IN,
    ("session-list", "GET"): SIGNED_IN,
    ("session-list", "POST"): OWN_EMPTY,
    ("session-heartbeat", "POST"): MINE,
    ("session-stop", "POST"): MINE,
    ("time-entry-list", "GET"): SIGNED_IN,
    ("time-entry-list", "POST"): OWN_EMPTY,
    ("time-entry-decide", "POST"): STAFF,
    ("earning-list", "GET"): SIGNED_IN,
    ("earning-summary", "GET"): SIGNED_IN,
    ("earning-approve", "POST"): MONEY_EMPTY,
    ("earning-adjust", "POST"): MONEY_EMPTY,
    ("earning-reverse", "POST"): MONEY_EMPTY,
    ("fair-pay", "GET"): STAFF,
    ("fair-pay-top-up", "POST"): MONEY_EMPTY,
    # Payouts: a contributor's own, and finance's review.
    ("my-payout-list", "GET"): SIGNED_IN,
    ("my-payout-detail", "GET"): MINE,
    ("my-statement", "GET"): SIGNED_IN,  # a period is everyone's; each sees their own rows
    ("my-statement-csv", "GET"): SIGNED_IN,
    ("finance-payout-settings", "GET"): FINANCE,
    ("finance-payout-settings", "PATCH"): FINANCE_EMPTY,
    ("finance-period-list", "GET"): FINANCE,
    ("finance-period-build", "POST"): FINANCE,  # built already: finishing it changes nothing
    ("finance-batch-list", "GET"): FINANCE,
    ("finance-batch-detail", "GET"): FINANCE,
    ("finance-batch-payouts", "GET"): FINANCE,
    ("finance-batch-approve-unflagged", "POST"): FINANCE,
    ("finance-batch-send", "POST"): "denied denied denied denied conflict denied denied",
    ("finance-dispatch-csv", "GET"): FINANCE,
    ("finance-payouts-mark-paid", "POST"): FINANCE_EMPTY,
    ("finance-payout-detail", "GET"): FINANCE,
    ("finance-payout-approve", "POST"): FINANCE,
    ("finance-payout-hold", "POST"): FINANCE_EMPTY,
    ("finance-payout-reject", "POST"): FINANCE_EMPTY,
    ("finance-audit", "GET"): FINANCE,
    ("finance-reconciliation", "GET"): FINANCE,
    # Evaluation work.
    ("evaluation-form", "GET"): STAFF,
    ("evaluation-form", "PUT"): STAFF_EMPTY,
    ("evaluation-settings", "GET"): STAFF,
    ("evaluation-settings", "PATCH"): STAFF,  # every setting is optional
    ("task-import", "POST"): STAFF_EMPTY,
    ("task-import-detail", "GET"): STAFF,
    ("project-export", "GET"): STAFF,
    ("prelabel-import", "POST"): STAFF_EMPTY,
    ("task-next", "POST"): "ok ok denied denied denied denied denied",  # the task in hand
    ("assignment-detail", "GET"): MINE,
    ("assignment-draft", "PUT"): OWN_EMPTY,
    ("assignment-submit", "POST"): OWN_EMPTY,
    ("assignment-skip", "POST"): OWN_EMPTY,
    ("assignment-release", "POST"): MINE,
    ("code-run-create", "POST"): OWN_EMPTY,
    ("code-run-detail", "GET"): MINE,
    ("submission-list", "GET"): SIGNED_IN,
    ("submission-update", "PATCH"): OWN_EMPTY,
    ("submission-feedback", "GET"): MINE,
    ("submission-resubmit", "POST"): OWN_EMPTY,
    ("submission-appeal", "POST"): OWN_EMPTY,
    # Quality: staff's rules and views, reviewers' work, a contributor's own quality.
    ("quality-settings", "GET"): STAFF,
    ("quality-settings", "PUT"): STAFF,  # every setting is optional
    ("project-quality", "GET"): STAFF,
    ("aggregation-create", "POST"): STAFF,
    ("aggregation-detail", "GET"): STAFF,
    ("aggregate-list", "GET"): STAFF_EMPTY,  # the question and method are required
    ("task-gold", "PUT"): STAFF_EMPTY,
    ("task-gold", "DELETE"): STAFF,
    ("review-queue", "GET"): SIGNED_IN,  # empty for anyone but reviewers (FOREIGN_ROWS)
    ("review-next", "POST"): "ok denied hidden denied denied denied denied",
    ("review-detail", "GET"): MINE,
    # The owner holds it already (409); the rest may not review it at all.
    ("review-claim", "POST"): "conflict denied denied denied denied denied denied",
    ("review-verdict", "POST"): OWN_EMPTY,
    ("review-release", "POST"): MINE,
    ("my-quality", "GET"): SIGNED_IN,
    ("quality-action-list", "GET"): STAFF,
    ("quality-action-decide", "POST"): STAFF,
    # Pages of accounts.
    ("highlight-css", "GET"): ANYONE,
    ("contributors:home", "GET"): ANYONE,
    ("contributors:home", "POST"): PUBLIC_PAGE_POST,
    ("contributors:signup", "GET"): "redirect redirect redirect redirect redirect ok ok",
    ("contributors:signup", "POST"): PUBLIC_PAGE_POST,
    ("contributors:login", "GET"): "redirect redirect redirect redirect redirect ok ok",
    ("contributors:login", "POST"): PUBLIC_PAGE_POST,
    ("contributors:logout", "POST"): PUBLIC_PAGE_POST,  # sessions are not state here
    ("contributors:verify_email", "GET"): "invalid invalid invalid invalid invalid invalid invalid",
    (
        "contributors:verify_email",
        "POST",
    ): "invalid invalid invalid invalid invalid invalid invalid",
    ("contributors:verify_email_resend", "GET"): SIGNED_IN,
    ("contributors:verify_email_resend", "POST"): PAGE_POST,  # verified already
    ("contributors:password_reset", "GET"): ANYONE,
    ("contributors:password_reset", "POST"): PUBLIC_PAGE_POST,
    ("contributors:password_reset_done", "GET"): ANYONE,
    ("contributors:password_reset_confirm", "GET"): ANYONE,  # says the link is not valid
    ("contributors:password_reset_confirm", "POST"): PUBLIC_PAGE_POST,
    ("contributors:password_reset_complete", "GET"): ANYONE,
    ("contributors:application", "GET"): CONTRIBUTOR_ONLY,
    ("contributors:application", "POST"): PAGE_POST,
    ("contributors:profile", "GET"): CONTRIBUTOR_ONLY,
    ("contributors:profile", "POST"): PAGE_POST,
    # Pages of assessments.
    ("assessments:list", "GET"): SIGNED_IN,
    ("assessments:list", "POST"): PAGE_POST,
    ("assessments:detail", "GET"): SIGNED_IN,
    ("assessments:detail", "POST"): PAGE_POST,
    # The other contributor passed the starter: they may start the coding assessment.
    ("assessments:start", "POST"): "refused ok refused refused refused denied denied",
    ("assessments:attempt", "GET"): MINE,
    ("assessments:attempt", "POST"): PAGE_POST_MINE,
    ("assessments:answer", "POST"): MINE,
    ("assessments:submit", "POST"): MINE,
    ("assessments:result", "GET"): "redirect hidden hidden hidden hidden denied denied",
    ("assessments:result", "POST"): PAGE_POST_MINE,
    ("assessments:grading", "GET"): "ok denied ok ok denied denied denied",
    ("assessments:grading", "POST"): "refused denied refused refused denied denied denied",
    ("assessments:grading_claim", "POST"): PAGE_POST,
    ("assessments:grading_task", "GET"): MINE,
    ("assessments:grading_task", "POST"): PAGE_POST_MINE,  # the empty grade is refused
    # Pages of the marketplace.
    ("marketplace:dashboard", "GET"): SIGNED_IN,
    ("marketplace:dashboard", "POST"): PAGE_POST,
    ("marketplace:project", "GET"): SIGNED_IN,
    ("marketplace:project", "POST"): PAGE_POST,
    ("marketplace:join", "POST"): PAGE_POST,
    ("marketplace:leave", "POST"): "ok ok refused refused refused denied denied",
    ("marketplace:session_start", "POST"): "refused ok refused refused refused denied denied",
    ("marketplace:session_stop", "POST"): MINE,
    ("marketplace:session_heartbeat", "POST"): MINE,
    ("marketplace:manual_time", "POST"): PAGE_POST,
    ("marketplace:earnings", "GET"): SIGNED_IN,
    ("marketplace:earnings", "POST"): PAGE_POST,
    ("marketplace:earnings_chart", "GET"): SIGNED_IN,
    ("marketplace:earnings_chart", "POST"): PAGE_POST,
    ("marketplace:payouts", "GET"): SIGNED_IN,
    ("marketplace:payouts", "POST"): PAGE_POST,
    ("marketplace:payout", "GET"): MINE,
    ("marketplace:payout", "POST"): PAGE_POST_MINE,
    ("marketplace:statement_latest", "GET"): SIGNED_IN,
    ("marketplace:statement_latest", "POST"): PAGE_POST,
    ("marketplace:statement", "GET"): SIGNED_IN,
    ("marketplace:statement", "POST"): PAGE_POST,
    ("marketplace:statement_csv", "GET"): SIGNED_IN,
    ("marketplace:statement_csv", "POST"): PAGE_POST,
    ("marketplace:fair_pay", "GET"): STAFF,
    ("marketplace:fair_pay", "POST"): PAGE_POST_STAFF,
    # Pages of evaluation work and quality.
    ("evaluations:next", "POST"): PAGE_POST,  # the task in hand, or why there is none
    ("evaluations:manage", "GET"): STAFF,
    ("evaluations:manage", "POST"): PAGE_POST_STAFF,
    ("evaluations:workspace", "GET"): MINE,
    ("evaluations:workspace", "POST"): PAGE_POST_MINE,
    ("evaluations:draft", "POST"): MINE,
    ("evaluations:submit", "POST"): "invalid hidden hidden hidden hidden denied denied",
    ("evaluations:skip", "POST"): PAGE_POST_MINE,  # a skip needs a reason
    ("evaluations:release", "POST"): MINE,
    ("evaluations:run_code", "POST"): PAGE_POST,  # an error fragment for htmx, nothing run
    ("evaluations:run_status", "GET"): MINE,
    ("evaluations:run_status", "POST"): PAGE_POST_MINE,
    ("evaluations:quality", "GET"): STAFF,
    ("evaluations:quality", "POST"): PAGE_POST_STAFF,
    ("evaluations:quality_leaderboard", "GET"): STAFF,
    ("evaluations:quality_leaderboard", "POST"): PAGE_POST_STAFF,
    ("evaluations:quality_accuracy", "GET"): STAFF,
    ("evaluations:quality_accuracy", "POST"): PAGE_POST_STAFF,
    ("evaluations:quality_backlog", "GET"): STAFF,
    ("evaluations:quality_backlog", "POST"): PAGE_POST_STAFF,
    ("evaluations:reviews", "GET"): "ok denied ok denied denied denied denied",
    ("evaluations:reviews", "POST"): "refused denied refused denied denied denied denied",
    ("evaluations:review_take", "POST"): "refused denied refused denied denied denied denied",
    ("evaluations:review", "GET"): "ok denied hidden denied denied denied denied",
    ("evaluations:review", "POST"): "refused denied hidden denied denied denied denied",
    ("evaluations:review_release", "POST"): "ok denied refused denied denied denied denied",
    ("evaluations:my_quality", "GET"): SIGNED_IN,
    ("evaluations:my_quality", "POST"): PAGE_POST,
    ("evaluations:submission", "GET"): MINE,
    ("evaluations:submission", "POST"): PAGE_POST_MINE,
}

# Keys no JSON answer to a contributor may hold, and why.
NEVER_FOR_CONTRIBUTORS = {
    "is_gold": "whether a task is gold",
    "gold_correct": "whether a gold task was answered right (it says the task is gold)",
    "gold": "a task's gold answer (a contributor's own gold accuracy is allowed, my-quality)",
    "tolerances": "a gold answer's tolerances",
    "staff_note": "a reviewer's note for staff and experts",
    "overturned": "whether an expert overruled a peer reviewer",
    "audit_of": "which peer verdict an expert audit checks",
    "reviewer": "who reviewed the work (reviews are blind)",
    "author": "who did the work (reviews are blind)",
    "candidate": "whose answer is graded (grading is blind)",
    "grader": "who graded an answer",
    "rubric": "an assessment's rubric points (the grader's own task shows them)",
    "accept": "a short-text answer key",
    "patterns": "a short-text answer key",
    "tests": "hidden tests",
    "choice_points": "an answer key's split of points",
    "credit": "an answer key's credit rule",
    "scoring": "how an item's score was reached, with the key",
    "auto_points": "an item's automatic points before the decision",
    "human_points": "an item's graders' points",
    "content": "an assessment's content file, keys included",
    "metadata": "a task's metadata, for staff",
    "flags": "a payout's risk flags (a reviewer sees the reviewed work's checks)",
    "flagged": "whether a payout is flagged",
    "evidence": "the evidence behind a payout flag or a quality action",
    "first_approved_by": "who approved a payout",
    "approved_by": "who approved a payout",
    "decided_by": "who decided a payout or a quality action",
    "paid_by": "who marked a payout paid",
    "needs_two": "the four-eyes rule of a payout",
    "last_error": "the payment provider's error",
    "audit": "the payout audit log",
}
# Keys inside a question a candidate sees: the answer key of any question type (a numeric
# question's `tolerance` included); the worked examples of a code question are shown on purpose.
NEVER_IN_A_QUESTION = {"answer", "accept", "patterns", "tests", "rubric", "tolerance", "credit"}
# Where a contributor's job shows them something otherwise kept back (route, role): the grader
# sees their grading task's rubric; a reviewer sees the review criteria and the work's checks;
# everyone sees their own gold accuracy.
ALLOWED_FOR: dict[tuple[str, str], set[str]] = {
    ("grading-task-list", "owner"): {"rubric", "SENTINEL-RUBRIC"},
    ("grading-task-claim", "owner"): {"rubric", "SENTINEL-RUBRIC"},
    ("grading-task-detail", "owner"): {"rubric", "SENTINEL-RUBRIC"},
    ("assessments:grading_task", "owner"): {"SENTINEL-RUBRIC"},
    ("review-detail", "owner"): {"rubric", "flags"},
    ("review-next", "owner"): {"rubric", "flags"},
    ("my-quality", "owner"): {"gold"},
    ("my-quality", "other"): {"gold"},
    ("my-quality", "reviewer"): {"gold"},
}
# For lists: where the rows are in the answer, the id that names each, the model and its owner
# field; and which roles see everyone's rows.
FOREIGN_ROWS: dict[str, tuple[tuple[str, str, type[Model], str], ...]] = {
    "profile-list": (("results", "id", ContributorProfile, "user_id"),),
    "attempt-list": (("results", "id", Attempt, "user_id"),),
    "assessment-list": (("", "open_attempt_id", Attempt, "user_id"),),
    "grading-task-list": (("results", "id", GradingTask, "grader_id"),),
    "session-list": (("results", "id", WorkSession, "user_id"),),
    "time-entry-list": (("results", "id", ManualTimeEntry, "user_id"),),
    "earning-list": (("results", "id", EarningEntry, "contributor_id"),),
    "my-payout-list": (("results", "id", Payout, "contributor_id"),),
    "submission-list": (("results", "id", Submission, "contributor_id"),),
    "my-statement": (
        ("entries", "id", EarningEntry, "contributor_id"),
        ("payouts", "id", Payout, "contributor_id"),
    ),
    "my-quality": (("verdicts", "submission", Submission, "contributor_id"),),
}
SEES_EVERYONE = {"profile-list": {"staff", "finance"}}
# Nobody but a reviewer has a review queue (its rows are projects, not people's).
EMPTY_FOR = {"review-queue": {"other", "staff", "finance"}}


def params_for(world: World) -> Any:
    """Path parameters by name; a name that means different objects on different routes is
    given per route."""
    objects, owner = world.objects, world.people["owner"]
    by_name = {
        "profile_id": owner.profile.pk,
        "user_id": owner.pk,
        "slug": "matrix-code",
        "attempt_id": objects["attempt"].pk,
        "item_id": objects["attempt_item"].pk,
        "task_id": objects["grading_task"].pk,
        "tier": "general",
        "standing": "strong",
        "project_id": objects["project"].pk,
        "session_id": objects["session"].pk,
        "entry_id": objects["earning"].pk,
        "payout_id": objects["payout"].pk,
        "period_id": objects["period"].pk,
        "batch_id": objects["batch"].pk,
        "dispatch_id": objects["dispatch"].pk,
        "job_id": objects["import_job"].pk,
        "assignment_id": objects["assignment"].pk,
        "run_id": objects["aggregation"].pk,
        "submission_id": objects["submission"].pk,
        "review_id": objects["review"].pk,
        "action_id": objects["quality_action"].pk,
        "token": "not-a-token",
        "uidb64": "MQ",
    }
    by_route = {
        "task-gold": {"task_id": objects["gold_task"].pk},
        "code-run-detail": {"run_id": objects["code_run"].pk},
        "evaluations:run_status": {"run_id": objects["code_run"].pk},
        "time-entry-decide": {"entry_id": objects["manual_entry"].pk},
        "contributors:password_reset_confirm": {"token": "set-password"},
    }

    def params(route: access.Route) -> dict[str, Any]:
        chosen = {**by_name, **by_route.get(route.name, {})}
        missing = set(route.params) - set(chosen)
        assert not missing, f"{route.name}: no object for {sorted(missing)}; add one to the world"
        return chosen

    return params


def leaks(result: access.Result, emails: dict[str, str]) -> list[str]:
    """What a contributor's answer shows that it must not: planted text, others' pay and
    e-mail addresses, keys."""
    allowed = ALLOWED_FOR.get((result.route.name, result.role), set())
    text = result.body.decode("utf-8", "replace")
    found = [f"text {s!r}" for s in SENTINELS if s in text and s not in allowed]
    found += [
        f"e-mail of {who}" for who, email in emails.items() if who != result.role and email in text
    ]
    for role, amount in PAY.items():
        shown = {amount, f"{int(amount.split('.')[0]):,}.{amount.split('.')[1]}"}
        if role != result.role and any(form in text for form in shown):
            found.append(f"pay of {role}")
    document = access.json_body(result.body) if "json" in result.content_type else None
    for path, key, value in access.walk(document):
        if key in NEVER_FOR_CONTRIBUTORS and key not in allowed:
            found.append(f"key {path}")
        if key in NEVER_IN_A_QUESTION and ".question." in path and ".examples[" not in path:
            found.append(f"answer key {path}")
        if key == "check" and value == "gold":
            found.append(f"gold check {path}")
    return found


def _rows(document: Any, where: str) -> list[Any]:
    inner = document.get(where, []) if where and isinstance(document, dict) else document
    return inner if isinstance(inner, list) else []


def foreign_rows(result: access.Result, people: dict[str, User | None]) -> list[str]:
    """Rows of someone else's in a list the caller got."""
    found = []
    name, role = result.route.name, result.role
    document = access.json_body(result.body)
    if name in EMPTY_FOR and role in EMPTY_FOR[name] and document:
        found.append(f"{len(document)} row(s) for a non-reviewer")
    caller = people[role]
    for where, key, model, owner_field in FOREIGN_ROWS.get(name, ()):
        if role in SEES_EVERYONE.get(name, set()) or caller is None:
            continue
        ids = [row[key] for row in _rows(document, where) if row.get(key) is not None]
        owners = dict(model._base_manager.filter(pk__in=ids).values_list("pk", owner_field))
        found += [f"{model.__name__} {pk}" for pk in ids if owners.get(pk) != caller.pk]
    return found


@dataclass
class PrivilegedWrite:
    """A request a role may make, carrying fields only staff may set; `watch` reads what
    must not change (or, for a row it creates, what it must hold: `expect`)."""

    role: str
    route: str
    method: str
    payload: Any
    watch: Any
    expect: Any = None


PRIVILEGED = {
    "is_staff": True,
    "is_superuser": True,
    "is_active": True,
    "status": "not_approved",
    "tier": "professional",
    "pay_rate": "999.00",
    "rate": "999.00",
    "multiplier": "9.00",
    "score": 1.0,
    "score_points": "999",
    "standing": "exceptional",
    "approved_by": 1,
    "approved_at": "2020-01-01T00:00:00Z",
    "decided_by": 1,
    "roles": ["staff", "finance_admin"],
    "groups": [1, 2, 3, 4, 5],
    "user_permissions": [1, 2, 3],
    "qualifications": ["law", "medicine"],
    "email_verified_at": "2020-01-01T00:00:00Z",
    "date_joined": "2000-01-01T00:00:00Z",
    "application_submitted_at": "2020-01-01T00:00:00Z",
    "status_changed_at": "2020-01-01T00:00:00Z",
}


def _user_state(user_id: int) -> dict[str, Any]:
    user = User.objects.get(pk=user_id)
    return {
        "user": User.objects.filter(pk=user_id)
        .values("email", "is_staff", "is_superuser", "is_active", "email_verified_at")
        .get(),
        "date_joined": user.date_joined,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": sorted(user.user_permissions.values_list("codename", flat=True)),
        "profile": ContributorProfile.objects.filter(user_id=user_id)
        .values("status", "status_changed_at", "application_submitted_at")
        .first(),
        "qualifications": sorted(Qualification.objects.filter(user_id=user_id).values_list("code")),
        "standing": list(StandingChange.objects.filter(user_id=user_id).values_list("standing")),
    }


def _profile_body(world: World, role: str) -> dict[str, Any]:
    profile = world.people[role].profile
    return {
        "full_name": "New Name",
        "education_level": profile.education_level,
        "years_experience": 7,
        "programming_languages": profile.programming_languages,
        "expertise_areas": profile.expertise_areas,
        "country": profile.country.code,
        "time_zone": profile.time_zone,
        "weekly_availability_hours": 20,
        "payout_email": profile.payout_email,
        "degrees": [],
        "credentials": [],
        "languages": [{"language": "en", "proficiency": "native"}],
    }


def _signup_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "is_staff": state["user"]["is_staff"],
        "is_superuser": state["user"]["is_superuser"],
        "groups": state["groups"],
        "status": state["profile"]["status"],
        "verified": state["user"]["email_verified_at"] is not None,
        "qualifications": state["qualifications"],
    }


def privileged_writes(world: World) -> list[PrivilegedWrite]:
    owner, objects = world.people["owner"], world.objects
    later = timezone.now() - timedelta(hours=6)
    graded = objects["grading_task"]
    rubric = grading_rubric(graded.attempt.assessment.question(graded.item.question_id))
    return [
        *(
            PrivilegedWrite(
                role,
                "me-profile",
                "PATCH",
                {**PRIVILEGED, "email": "taken@example.org", "years_experience": 9},
                lambda w, role=role: _user_state(w.people[role].pk),
            )
            for role in ("owner", "other", "reviewer")
        ),
        PrivilegedWrite(
            "owner",
            "me-profile",
            "PUT",
            {**_profile_body(world, "owner"), **PRIVILEGED},
            lambda w: _user_state(w.people["owner"].pk),
        ),
        PrivilegedWrite(
            "anon",
            "auth-signup",
            "POST",
            {
                "email": "newcomer@example.org",
                "password": "a-long-and-new-passphrase-7",
                "full_name": "New Comer",
                **PRIVILEGED,
            },
            lambda w: _signup_view(_user_state(User.objects.get(email="newcomer@example.org").pk)),
            lambda w: {
                "is_staff": False,
                "is_superuser": False,
                "groups": ["contributor"],
                "status": "applicant",
                "verified": False,
                "qualifications": [],
            },
        ),
        PrivilegedWrite(
            "owner",
            "attempt-answer",
            "PUT",
            {
                "answer": {"code": "def greet(name):\n    return 'Hello, ' + name\n"},
                "score": "10.00",
                "auto_points": "10.00",
                "status": "scored",
                "points": "999.00",
            },
            lambda w: (
                AttemptItem.objects.filter(pk=w.attempt_item.pk)
                .values("status", "score", "auto_points", "human_points", "points")
                .get()
            ),
        ),
        PrivilegedWrite(
            "owner",
            "assignment-draft",
            "PUT",
            {"draft": {}, "status": "submitted", "contributor": 1, "task": 1},
            lambda w: (
                Assignment.objects.filter(pk=w.assignment.pk)
                .values("status", "contributor", "task", "project")
                .get()
            ),
        ),
        PrivilegedWrite(
            "owner",
            "submission-resubmit",
            "POST",
            {
                "answers": objects["submission"].answers,
                "status": "accepted",
                "is_gold": False,
                "gold_correct": True,
                "flags": [],
                "contributor": 1,
            },
            lambda w: (
                Submission.objects.filter(pk=w.submission.pk)
                .values("is_gold", "gold_correct", "contributor", "task")
                .get()
            ),
        ),
        PrivilegedWrite(
            "owner",
            "review-verdict",
            "POST",
            {
                "verdict": "accept",
                "scores": {"accuracy": 4, "rationale": 4},
                "level": "expert",
                "overturned": True,
                "reviewer": 1,
                "author": owner.pk,
            },
            lambda w: (
                Review.objects.filter(pk=w.review.pk)
                .values("level", "overturned", "reviewer", "author", "submission")
                .get()
            ),
        ),
        PrivilegedWrite(
            "owner",
            "grading-task-submit",
            "POST",
            {
                "criteria": {criterion["id"]: "1" for criterion in rubric},
                "grader": 1,
                "round": 3,
                "points": "999.00",
                "candidate": owner.pk,
            },
            lambda w: (
                GradingTask.objects.filter(pk=w.grading_task.pk)
                .values("grader", "round", "candidate", "item")
                .get()
            ),
        ),
        PrivilegedWrite(
            "owner",
            "session-heartbeat",
            "POST",
            {"rate": "999.00", "multiplier": "9.00", "user": 1, "project": 1},
            lambda w: (
                WorkSession.objects.filter(pk=w.session.pk)
                .values("rate", "multiplier", "user", "project", "currency")
                .get()
            ),
        ),
        PrivilegedWrite(
            "owner",
            "time-entry-list",
            "POST",
            {
                "project": objects["project"].pk,
                "started_at": (later - timedelta(hours=1)).isoformat(),
                "ended_at": later.isoformat(),
                "reason": "Read the guidelines offline.",
                "status": "approved",
                "decided_by": 1,
                "user": 1,
                "decided_at": "2020-01-01T00:00:00Z",
            },
            lambda w: (
                ManualTimeEntry.objects.filter(reason="Read the guidelines offline.")
                .values("status", "decided_by", "user", "decided_at")
                .get()
            ),
            lambda w: {
                "status": "pending",
                "decided_by": None,
                "user": w.people["owner"].pk,
                "decided_at": None,
            },
        ),
    ]


def run_privileged_writes(world: World, params: Any) -> tuple[int, int, list[str]]:
    """Send each privileged write (it must succeed); count the fields the database took."""
    routes = {route.key: route for route in access.api_routes()}
    writes = privileged_writes(world)
    applied, problems = 0, []
    for write in writes:
        route = routes[(write.route, write.method)]
        client = access.api_client(world.tokens.get(write.role))
        before = write.watch(world) if write.expect is None else write.expect(world)
        savepoint = transaction.savepoint()
        try:
            response = getattr(client, write.method.lower())(
                access.path_for(route, params(route)), data=write.payload, format="json"
            )
            after = write.watch(world) if 200 <= response.status_code < 300 else None
        finally:
            transaction.savepoint_rollback(savepoint)
        if after is None:
            problems.append(f"{write.role} {write.method} {write.route}: {response.content!r}")
            continue
        changed = [key for key in before if after.get(key) != before[key]]
        applied += len(changed)
        problems += [f"{write.role} {write.method} {write.route} changed {key}" for key in changed]
    return len(writes), applied, problems


def test_the_table_declares_every_route_and_method_and_nothing_else():
    routes = {route.key for route in access.api_routes() + access.page_routes()}

    assert sorted(routes - EXPECTED.keys()) == []
    assert sorted(EXPECTED.keys() - routes) == []
    assert {route.name for route in access.api_routes()} == access.api_url_names()
    assert all(len(row.split()) == len(ROLES) for row in EXPECTED.values())


@pytest.fixture
def quiet_refusals() -> Any:
    """Django logs every 4xx answer with its traceback; the matrix expects a thousand."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def test_every_route_answers_each_role_as_declared_and_leaks_nothing(
    settings, tmp_path, quiet_refusals
):
    settings.MEDIA_ROOT = str(tmp_path)  # a dispatch writes its file on sending
    world = build_world()
    params = params_for(world)
    routes = access.api_routes() + access.page_routes()
    roles = {role: (world.people[role], world.tokens.get(role)) for role in ROLES}

    results = access.run(routes, roles, params)
    privileged_calls, privileged_applied, privileged_problems = run_privileged_writes(world, params)

    declared = {key: dict(zip(ROLES, row.split(), strict=True)) for key, row in EXPECTED.items()}
    expected = {
        (r.route.key, r.role): declared.get(r.route.key, {}).get(r.role, "undeclared")
        for r in results
    }
    wrong = [
        f"{r.route.name} {r.route.method} as {r.role}: {r.outcome} ({r.status}), "
        f"declared {expected[r.route.key, r.role]}"
        for r in results
        if r.outcome != expected[r.route.key, r.role]
    ]
    unexpected_successes = [
        r
        for r in results
        if r.outcome in WRITES_ALLOWED and expected[r.route.key, r.role] not in WRITES_ALLOWED
    ]
    stray_writes = [
        f"{r.route.name} {r.route.method} as {r.role} ({r.outcome}) wrote {r.writes}"
        for r in results
        if r.writes and r.outcome not in WRITES_ALLOWED
    ]
    emails = {who: person.email for who, person in world.people.items() if person is not None}
    emails |= {who: world.objects[who].email for who in ("author", "expert", "candidate")}
    leaked = [
        f"{r.route.name} {r.route.method} as {r.role}: {found}"
        for r in results
        if r.role in CONTRIBUTOR_ROLES
        for found in leaks(r, emails)
    ]
    foreign = [
        f"{r.route.name} as {r.role}: {found}"
        for r in results
        if r.outcome == OK and r.route.method == "GET"
        for found in foreign_rows(r, world.people)
    ]
    figure(
        "access_matrix",
        routes=len(routes),
        roles=len(ROLES),
        calls=len(results) + privileged_calls,
        unexpected_successes=len(unexpected_successes),
        leaked_fields=len(leaked),
        privileged_writes_applied=privileged_applied,
    )
    figure(
        "access_matrix_outcomes",
        **dict(sorted(Counter(r.outcome for r in results).items())),
        foreign_rows=len(foreign),
        stray_writes=len(stray_writes),
    )
    assert wrong == []
    assert stray_writes == []
    assert leaked == []
    assert foreign == []
    assert privileged_problems == []
