"""Hostile inputs: a corpus tried on every free-text and file field of the API and the pages.

The corpus: script injection (tags, `javascript:` links and event handlers in Markdown, SVG
with script, `</script>` meant to break out of JSON embedded in a page), CSV formulas, NUL
bytes, lone surrogates, 10 MB strings, invalid UTF-8 in JSON bodies and in JSONL/CSV uploads,
JSON nested 10,000 deep, and ORM lookups smuggled into query parameters.

After each try: no answer is a server error; what was stored comes out escaped on every page
that shows it (no script, handler or `javascript:` URL of ours in the markup); and every CSV
export neutralises every cell that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.services import attempt_start, attempt_submit
from contributors.models import User
from evaluations import services as evaluations
from evaluations.forms import answers_from_post
from evaluations.models import Assignment, EvaluationForm, ImportJob, Review, Submission, Task
from evaluations.schema import form_parse
from marketplace import services as marketplace
from marketplace.models import EarningEntry
from marketplace.services.payouts import (
    batch_build,
    payout_approve,
    payouts_send,
    period_current,
)
from tests.assessments.helpers import load_tiny, make_grader
from tests.conftest import api_for
from tests.contributors.factories import ContributorFactory, UserFactory
from tests.evaluations.helpers import FORM, good_answers, project_with_tasks, task_line
from tests.evaluations.quality_helpers import reviewer, rubric_scores
from tests.figures import figure
from tests.marketplace.helpers import qualified
from tests.marketplace.payout_helpers import closed_period, earn, earner

pytestmark = pytest.mark.django_db

MARKER = "xss_fired"
MARKUP = [
    f"<script>{MARKER}(1)</script>",
    f'<img src=x onerror="{MARKER}(2)">',
    f"[click me](javascript:{MARKER}(3))",
    f'<a href="#" onclick="{MARKER}(4)">hover</a> and <b onmouseover={MARKER}(5)>bold</b>',
    f"<svg onload={MARKER}(6)><script>{MARKER}(7)</script></svg>",
    f'</script><script>{MARKER}(8)</script>{{"a": "</script><script>{MARKER}(9)</script>"}}',
    f'"><iframe src="javascript:{MARKER}(10)"></iframe><input autofocus onfocus={MARKER}(11) x="',
    f"![pic](javascript:{MARKER}(12)) <details open ontoggle={MARKER}(13)>",
]
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1"]
TEXTS = MARKUP + FORMULAS
NUL = "before\x00after"
SURROGATE_JSON = '"lone \\ud800 surrogate"'
BIG = "x" * (10 * 1024 * 1024)
LONG = "y" * 200_000
INVALID_UTF8 = b"\xff\xfe\xc3\x28 not utf-8 \xa0\xa1"
DEEP_JSON = "[" * 10_000 + "]" * 10_000
ORM_LOOKUPS = [
    ("contributor__password__startswith", "md5"),
    ("user__password__startswith", "md5"),
    ("order_by", "password"),
    ("ordering", "-contributor__password"),
    ("project__created_by__password__regex", "^m"),
    ("search", "' OR 1=1 --"),
    ("format", "json"),
    ("limit", "-1"),
    ("offset", "99999999999999999999"),
    ("status", NUL),
]


class _Executable(HTMLParser):
    """Finds the corpus' markup where a browser would run it: a script whose text calls the
    marker, an event handler attribute, or a `javascript:` URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            text = (value or "").strip().lower()
            if name.startswith("on") and MARKER in text:
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction", "data", "xlink:href") and (
                text.startswith("javascript:") or MARKER in text
            ):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and MARKER in data:
            self.found.append(f"<script>{data[:80]}")


def executable_markup(html: str) -> list[str]:
    scanner = _Executable()
    scanner.feed(html)
    scanner.close()
    return scanner.found


def formula_cells(text: str) -> list[str]:
    """Cells a spreadsheet would run: starting with = + - @ (or tab, CR), unless a plain
    number (a negative amount is a number, not a formula)."""
    found = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                try:
                    Decimal(cell)
                except ArithmeticError:
                    found.append(cell[:60])
    return found


@dataclass
class Probe:
    """Sends the corpus and keeps the figures: what was tried, on which fields, and every
    server error, unescaped rendering and formula cell, with where it was seen."""

    payloads: int = 0
    fields: set[str] = field(default_factory=set)
    server_errors: list[str] = field(default_factory=list)
    unescaped: list[str] = field(default_factory=list)
    csv_exports: int = 0
    formulas: list[str] = field(default_factory=list)
    pages: int = 0
    leaks: list[str] = field(default_factory=list)
    accepted_long: list[str] = field(default_factory=list)
    not_shown: list[str] = field(default_factory=list)

    def api(self, user: User) -> APIClient:
        client = APIClient(raise_request_exception=False)
        client.force_authenticate(user=user)
        return client

    def browser(self, user: User) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        return client

    def send(self, name: str, user: User, method: str, url: str, **kwargs: Any) -> Any:
        """One try of one payload on one field, isolated in a savepoint so that a failure
        cannot spoil the tries after it."""
        self.payloads += 1
        self.fields.add(name)
        with transaction.atomic():
            response = getattr(self.api(user), method)(url, **kwargs)
        if response.status_code >= 500:
            self.server_errors.append(f"{name}: {method.upper()} {url} -> {response.status_code}")
        return response

    def raw(self, name: str, user: User, method: str, url: str, body: bytes) -> Any:
        self.payloads += 1
        self.fields.add(name)
        with transaction.atomic():
            response = self.api(user).generic(
                method.upper(), url, data=body, content_type="application/json"
            )
        if response.status_code >= 500:
            self.server_errors.append(
                f"{name}: raw {method.upper()} {url} -> {response.status_code}"
            )
        return response

    def page(self, user: User, url: str, *, expect: bool = True) -> str:
        """Fetch a page that shows stored corpus (`expect`: it must show it, escaped) and
        look for any of it the browser would run."""
        self.pages += 1
        response = self.browser(user).get(url)
        if response.status_code >= 500:
            self.server_errors.append(f"page {url} -> {response.status_code}")
            return ""
        html = response.content.decode()
        self.unescaped.extend(f"{url}: {found}" for found in executable_markup(html))
        if expect and MARKER not in html:
            self.not_shown.append(url)
        return html

    def csv_export(
        self, user: User, url: str, *, browser: bool = False, expect: str | None = None
    ) -> str:
        """Fetch a CSV export and find the cells a spreadsheet would run; `expect` is a
        neutralised cell that must be there, so the export is known to carry the corpus."""
        client = self.browser(user) if browser else self.api(user)
        response = client.get(url)
        if response.status_code >= 500:
            self.server_errors.append(f"export {url} -> {response.status_code}")
            return ""
        assert response.status_code == 200, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        self.csv_exports += 1
        self.formulas.extend(f"{url}: {cell!r}" for cell in formula_cells(text))
        if expect and expect not in text:
            self.not_shown.append(url)
        return text

    def hostile_json(
        self, name: str, user: User, method: str, url: str, body: dict | Callable[[Any], dict]
    ) -> None:
        """The values JSON itself carries badly, on one field: NUL, a lone surrogate, 10 MB,
        200,000 characters (past every field's limit), invalid UTF-8, 10,000 levels of
        nesting. `body` is the rest of the request, the field being the last part of `name`;
        or a function that places a value."""
        if not callable(body):
            key, rest = name.split(".")[-1], body
            body = lambda value: {**rest, key: value}  # noqa: E731
        self.send(name, user, method, url, data=body(NUL), format="json")
        self.send(name, user, method, url, data=body(BIG), format="json")
        long = self.send(name, user, method, url, data=body(LONG), format="json")
        if long.status_code < 300:
            self.accepted_long.append(f"{name}: {method.upper()} {url} -> {long.status_code}")
        encoded = json.dumps(body("@@")).encode()
        self.raw(name, user, method, url, encoded.replace(b'"@@"', SURROGATE_JSON.encode()))
        self.raw(name, user, method, url, encoded.replace(b"@@", INVALID_UTF8))
        self.raw(name, user, method, url, encoded.replace(b'"@@"', DEEP_JSON.encode()))


# The scene.


@dataclass
class Scene:
    boss: User
    me: User
    peer: User
    expert: User
    project: Any


REWRITE_FORM = {
    "questions": [
        *FORM["questions"],
        {
            "name": "rewrite",
            "type": "free_text",
            "prompt": "Rewrite the better answer.",
            "role": "rewrite",
            "required": False,
        },
        {
            "name": "marks",
            "type": "spans",
            "prompt": "Mark what is wrong.",
            "labels": ["wrong"],
            "required": False,
        },
    ]
}
# A span answer goes back into the workspace as JSON inside an attribute: this one tries to
# close the attribute, then a script.
SPANS = [{"response": "a", "start": 0, "end": 3, "label": MARKUP[5] + MARKUP[6]}]


def make_scene() -> Scene:
    boss = UserFactory(roles=("staff", "finance_admin"), is_staff=True)
    me = qualified("general")
    project = project_with_tasks(
        2, overlap=1, actor=boss, form=REWRITE_FORM, pay_model="per_task", task_minutes=6
    )
    evaluations.quality_settings_set(
        project_id=project.pk, actor=boss, peer_review=True, expert_review=True
    )
    marketplace.membership_join(project_id=project.pk, user=me)
    return Scene(
        boss=boss,
        me=me,
        peer=reviewer(),
        expert=reviewer(expert=True),
        project=project,
    )


def test_hostile_corpus_is_refused_or_kept_inert_everywhere(
    django_capture_on_commit_callbacks,
) -> None:
    probe = Probe()
    scene = make_scene()
    boss, me = scene.boss, scene.me
    project = scene.project

    # Profile and application fields (the contributor's own).
    for name in ("full_name", "degrees.field", "degrees.institution", "credentials.jurisdiction"):
        for text in TEXTS:
            probe.send(name, me, "patch", "/api/v1/me/profile/", data=_profile(name, text))
        probe.hostile_json(
            name, me, "patch", "/api/v1/me/profile/", lambda value, name=name: _profile(name, value)
        )
    probe.send(
        "full_name", me, "patch", "/api/v1/me/profile/", data=_profile("full_name", MARKUP[0])
    )
    for url in ("/profile/", "/application/", "/"):
        probe.page(me, url)
    probe.page(boss, f"/admin/contributors/user/{me.pk}/change/")

    # Project texts (staff): Markdown in the description, deliverables and instructions.
    for name in ("title", "description", "deliverables", "instructions"):
        for text in TEXTS:
            probe.send(name, boss, "patch", f"/api/v1/projects/{project.pk}/", data={name: text})
        probe.hostile_json(name, boss, "patch", f"/api/v1/projects/{project.pk}/", {})
    probe.send(
        "description",
        boss,
        "patch",
        f"/api/v1/projects/{project.pk}/",
        data={
            "title": MARKUP[0],
            "description": "\n\n".join(MARKUP),
            "deliverables": "\n\n".join(MARKUP),
            "instructions": "\n\n".join(MARKUP),
        },
    )
    for url in (f"/projects/{project.pk}/", "/dashboard/", f"/work/projects/{project.pk}/manage/"):
        probe.page(me if "manage" not in url else boss, url)

    # Evaluation form help texts, prompts and labels (staff), by the API and the page.
    form_url = f"/api/v1/projects/{project.pk}/evaluation/form/"
    for text in TEXTS:
        probe.send("form.help", boss, "put", form_url, data={"schema": _form(text)}, format="json")
    probe.hostile_json("schema", boss, "put", form_url, {})
    for payload in (json.dumps(_form(NUL)), DEEP_JSON, json.dumps(_form(BIG))):
        probe.payloads += 1
        probe.fields.add("manage.schema")
        with transaction.atomic():
            response = probe.browser(boss).post(
                f"/work/projects/{project.pk}/manage/", {"action": "form", "schema": payload}
            )
        if response.status_code >= 500:
            probe.server_errors.append(f"manage.schema -> {response.status_code}")
    probe.send("form.help", boss, "put", form_url, data={"schema": _form(MARKUP[4])}, format="json")

    # Task import files (JSONL and CSV) and the texts inside them.
    import_url = f"/api/v1/projects/{project.pk}/imports/"
    for text in TEXTS:
        for upload in (_jsonl_task(text), _csv_task(text)):
            probe.send(
                "import.file", boss, "post", import_url, data={"file": upload}, format="multipart"
            )
    hostile_files = [
        SimpleUploadedFile("bad.jsonl", INVALID_UTF8 + b"\n", "application/octet-stream"),
        SimpleUploadedFile("bad.csv", b"external_id,prompt\nx," + INVALID_UTF8 + b"\n"),
        SimpleUploadedFile("nul.jsonl", json.dumps(task_line(900, prompt=NUL)).encode() + b"\n"),
        SimpleUploadedFile("nulbyte.csv", b"external_id,prompt\nx,a\x00b\n"),
        SimpleUploadedFile(
            "deep.jsonl", b'{"external_id": "d", "prompt": ' + DEEP_JSON.encode() + b"}\n"
        ),
        SimpleUploadedFile("big.jsonl", json.dumps(task_line(901, prompt=BIG)).encode() + b"\n"),
        SimpleUploadedFile(
            "surrogate.jsonl", b'{"external_id": "s", "prompt": ' + SURROGATE_JSON.encode() + b"}\n"
        ),
    ]
    for upload in hostile_files:
        for skip_invalid in (True, False):
            upload.seek(0)
            probe.send(
                "import.file",
                boss,
                "post",
                import_url,
                data={"file": upload, "skip_invalid": skip_invalid},
                format="multipart",
            )
    # The imports run as jobs; run them here, as the worker would. Then the hostile task is
    # handed out first (its priority), and shown in the workspace with the hostile form.
    _run_imports(probe, project)
    hostile = evaluations.assignment_next(project_id=project.pk, user=me)
    probe.page(me, f"/work/tasks/{hostile.pk}/")
    probe.page(boss, f"/work/projects/{project.pk}/manage/")

    work = _work(probe, scene)
    _reviews_and_appeals(probe, scene, work)
    _money(probe, scene)
    _time_and_status(probe, scene, work)
    _assessments(probe, scene, django_capture_on_commit_callbacks)
    expected = {(project.pk, "raw"): "'=cmd", (work.pk, "rewrites"): "'@SUM(1)"}
    for kind in evaluations.KINDS:
        for exported in (project.pk, work.pk):
            probe.csv_export(
                boss,
                f"/api/v1/projects/{exported}/export/?kind={kind}&format=csv",
                expect=expected.get((exported, kind)),
            )
    _lookups(probe, scene)

    figure(
        "hostile_inputs",
        payloads=probe.payloads,
        fields=len(probe.fields),
        unescaped=len(probe.unescaped),
        server_errors=len(probe.server_errors),
        csv_exports_checked=probe.csv_exports,
        formula_cells=len(probe.formulas),
    )
    assert probe.server_errors == []
    assert probe.unescaped == []
    assert probe.formulas == []
    assert probe.leaks == []
    assert probe.not_shown == []


def _work(probe: Probe, scene: Scene) -> Any:
    """Rationales and rewrites: drafts by the API and the page, then one submission carrying
    the corpus, and another person's accepted one for the exports."""
    boss, me = scene.boss, scene.me
    work = project_with_tasks(2, overlap=1, actor=boss, form=REWRITE_FORM, title="Work")
    evaluations.quality_settings_set(
        project_id=work.pk, actor=boss, peer_review=True, expert_review=True
    )
    marketplace.membership_join(project_id=work.pk, user=me)
    assignment = evaluations.assignment_next(project_id=work.pk, user=me)
    answers = good_answers(Task.objects.get(pk=assignment.task_id))
    draft_url = f"/api/v1/assignments/{assignment.pk}/draft/"
    for text in TEXTS:
        probe.send(
            "draft.rationale", me, "put", draft_url, data={"draft": {**answers, "rationale": text}}
        )
    probe.hostile_json("draft", me, "put", draft_url, {})
    spans = json.dumps(SPANS)
    posts = [{"q-rationale": text, "q-rewrite": text} for text in [*TEXTS, NUL, LONG]]
    posts += [{"q-marks": spans}, {"q-marks": json.dumps([{**SPANS[0], "label": NUL}])}]
    for post in posts:
        probe.payloads += 1
        probe.fields.add(f"page.{'marks' if 'q-marks' in post else 'rationale'}")
        with transaction.atomic():
            response = probe.browser(me).post(f"/work/tasks/{assignment.pk}/draft/", post)
        if response.status_code >= 500:
            probe.server_errors.append(f"page draft -> {response.status_code}")
    probe.send(
        "draft.rationale",
        me,
        "put",
        draft_url,
        data={"draft": {**answers, "rationale": "\n".join(MARKUP), "marks": SPANS}},
    )
    probe.page(me, f"/work/tasks/{assignment.pk}/")
    submit_url = f"/api/v1/assignments/{assignment.pk}/submit/"
    probe.hostile_json("answers", me, "post", submit_url, {})
    for name in ("rationale", "rewrite"):
        for bad in (NUL, BIG):
            probe.send(
                f"answers.{name}", me, "post", submit_url, data={"answers": {**answers, name: bad}}
            )
    probe.send(
        "answers.rationale",
        me,
        "post",
        submit_url,
        data={"answers": {**answers, "rationale": "\n".join(MARKUP), "rewrite": FORMULAS[0]}},
    )
    other = qualified("general")
    marketplace.membership_join(project_id=work.pk, user=other)
    theirs = evaluations.assignment_next(project_id=work.pk, user=other)
    task = Task.objects.get(pk=theirs.pk and theirs.task_id)
    accepted = evaluations.submission_submit(
        assignment_id=theirs.pk,
        user=other,
        answers={**good_answers(task), "rationale": "+1+1 " + MARKUP[0], "rewrite": "@SUM(1)"},
    )
    Submission.objects.filter(pk=accepted.pk).update(status=Submission.Status.ACCEPTED)
    return work


def _reviews_and_appeals(probe: Probe, scene: Scene, work: Any) -> None:
    me, peer, expert = scene.me, scene.peer, scene.expert
    mine = Submission.objects.get(project=work, contributor=me)
    review = Review.objects.filter(submission=mine, status=Review.Status.OPEN).first()
    evaluations.review_claim(review_id=review.pk, user=peer)
    probe.page(peer, f"/work/reviews/{review.pk}/")
    verdict_url = f"/api/v1/reviews/{review.pk}/verdict/"
    base = {"verdict": "reject", "scores": rubric_scores(1)}
    for name in ("comment", "staff_note"):
        probe.hostile_json(name, peer, "post", verdict_url, base)
    probe.send(
        "comment",
        peer,
        "post",
        verdict_url,
        data={**base, "comment": "\n".join(TEXTS), "staff_note": "\n".join(TEXTS)},
    )
    appeal_url = f"/api/v1/submissions/{mine.pk}/appeal/"
    probe.hostile_json("reason", me, "post", appeal_url, {})
    for text in TEXTS:
        probe.send(
            "appeal.reason", me, "post", appeal_url, data={"reason": text + "\n" + MARKUP[0]}
        )
    probe.page(me, f"/work/submissions/{mine.pk}/")
    probe.page(me, "/work/quality/")
    audit = evaluations.review_next(user=expert, level="expert")
    probe.page(expert, f"/work/reviews/{audit.pk}/")
    probe.page(expert, "/work/reviews/", expect=False)
    probe.page(scene.boss, f"/work/projects/{work.pk}/quality/", expect=False)


def _money(probe: Probe, scene: Scene) -> None:
    """Hold and reject reasons, adjustment reasons on statements, payout e-mails in the
    dispatch file: each shown to the contributor, each in a CSV."""
    boss, me = scene.boss, scene.me
    for email in ("=cmd@evil.test", "+1@evil.test", "-2@evil.test"):
        probe.send("payout_email", me, "patch", "/api/v1/me/profile/", data={"payout_email": email})
    rejected, paid = earner(), earner(payout_email="@SUM(1)@x.test")
    paid.profile.payout_email = "=HYPERLINK(1)@x.test"
    paid.profile.save(update_fields=["payout_email"])
    for person in (me, rejected, paid):
        earn(person, "30.00")
    period = closed_period()
    batch = batch_build(period_id=period.pk)
    held = batch.payouts.get(contributor=me)
    lost = batch.payouts.get(contributor=rejected)
    for name, payout, extra in (
        ("hold.reason", held, {}),
        ("reject.reason", lost, {"entries": "return"}),
    ):
        action = "hold" if name.startswith("hold") else "reject"
        url = f"/api/v1/finance/payouts/{payout.pk}/{action}/"
        probe.hostile_json("reason", boss, "post", url, extra)
        probe.send(name, boss, "post", url, data={**extra, "reason": "\n".join(TEXTS)[:2000]})
    payout_approve(payout_id=batch.payouts.get(contributor=paid).pk, actor=boss)
    dispatch = payouts_send(batch_id=batch.pk, actor=boss)
    probe.csv_export(boss, f"/api/v1/finance/dispatches/{dispatch.pk}/csv/", expect="'=HYPER")
    probe.page(boss, f"/admin/marketplace/payout/{held.pk}/change/")
    probe.page(boss, f"/admin/marketplace/payoutbatch/{batch.pk}/change/", expect=False)
    for user, payout in ((me, held), (rejected, lost)):
        probe.page(user, f"/earnings/payouts/{payout.pk}/")
    probe.page(me, "/earnings/payouts/")

    adjust_url = "/api/v1/earnings/adjustments/"
    base = {"contributor": me.pk, "kind": "bonus", "amount": "5.00", "currency": "USD"}
    probe.hostile_json("reason", boss, "post", adjust_url, {**base, "key": "hostile"})
    for number, text in enumerate(TEXTS):
        probe.send(
            "adjustment.reason",
            boss,
            "post",
            adjust_url,
            data={**base, "reason": text, "key": f"k{number}"},
        )
    probe.send(
        "adjustment.reason",
        boss,
        "post",
        adjust_url,
        data={**base, "amount": "-2.00", "kind": "adjustment", "reason": "-2+3", "key": "neg"},
    )
    pending = EarningEntry.objects.filter(contributor=me, state="pending")
    approved = probe.api(boss).post(
        "/api/v1/earnings/approve/", {"entries": list(pending.values_list("pk", flat=True))}
    )
    assert approved.status_code == 200, approved.content
    probe.page(me, "/earnings/")
    current = period_current()
    probe.page(me, f"/earnings/statements/{current.pk}/")
    probe.csv_export(me, f"/api/v1/me/statements/{current.pk}/csv/", expect="'=cmd")
    probe.csv_export(me, f"/earnings/statements/{current.pk}.csv", browser=True, expect="'@SUM")
    probe.csv_export(me, f"/api/v1/me/statements/{period.pk}/csv/")


def _time_and_status(probe: Probe, scene: Scene, work: Any) -> None:
    boss, me = scene.boss, scene.me
    now = timezone.now()
    base = {
        "project": work.pk,
        "started_at": (now - timedelta(hours=3)).isoformat(),
        "ended_at": (now - timedelta(hours=2)).isoformat(),
    }
    probe.hostile_json("reason", me, "post", "/api/v1/time-entries/", base)
    for number, text in enumerate(TEXTS):
        start = now - timedelta(days=1, hours=number + 1)
        probe.send(
            "time.reason",
            me,
            "post",
            "/api/v1/time-entries/",
            data={
                **base,
                "started_at": start.isoformat(),
                "ended_at": (start + timedelta(minutes=30)).isoformat(),
                "reason": text,
            },
        )
    probe.page(me, f"/projects/{work.pk}/")
    subject = qualified("general")
    status_url = f"/api/v1/profiles/{subject.profile.pk}/status/"
    probe.hostile_json("reason", boss, "post", status_url, {"status": "suspended"})
    probe.send(
        "status.reason",
        boss,
        "post",
        status_url,
        data={"status": "suspended", "reason": "\n".join(TEXTS)},
    )
    probe.send(
        "status.reason", boss, "post", status_url, data={"status": "active", "reason": MARKUP[1]}
    )
    probe.page(User.objects.get(pk=subject.pk), "/profile/", expect=False)
    probe.page(boss, f"/admin/contributors/user/{subject.pk}/change/", expect=False)


def _assessments(probe: Probe, scene: Scene, capture: Any) -> None:
    """A candidate's written answers, shown to a grader; the grader's comment, shown back."""
    load_tiny()
    candidate = ContributorFactory(status="assessing")
    attempt = attempt_start(user=candidate, slug="starter")
    written = [
        item
        for item in attempt.items.all()
        if attempt.assessment.question(item.question_id)["type"] in ("long_form", "pairwise")
    ]
    for item in written:
        url = f"/api/v1/attempts/{attempt.pk}/items/{item.pk}/answer/"
        kind = attempt.assessment.question(item.question_id)["type"]
        for text in TEXTS:
            answer = (
                {"text": text} if kind == "long_form" else {"choice": "a", "justification": text}
            )
            probe.send(f"answer.{kind}", candidate, "put", url, data={"answer": answer})
        probe.hostile_json("answer", candidate, "put", url, {})
        final = "\n".join(TEXTS)
        answer = {"text": final} if kind == "long_form" else {"choice": "a", "justification": final}
        probe.send(f"answer.{kind}", candidate, "put", url, data={"answer": answer})
    probe.page(candidate, f"/assessments/attempts/{attempt.pk}/")
    with capture(execute=True):
        attempt_submit(attempt_id=attempt.pk, user=candidate)
    grader = make_grader("general")
    claimed = probe.send("grading", grader, "post", "/api/v1/grading/tasks/claim/", data={})
    task_id = claimed.json()["id"] if claimed.status_code == 200 else None
    if task_id is None:
        probe.server_errors.append(f"no grading task to claim: {claimed.status_code}")
        return
    probe.page(grader, f"/assessments/grading/{task_id}/")
    submit_url = f"/api/v1/grading/tasks/{task_id}/submit/"
    detail = probe.api(grader).get(f"/api/v1/grading/tasks/{task_id}/").json()
    criteria = {criterion["id"]: 1 for criterion in detail.get("rubric", [])}
    probe.hostile_json("comment", grader, "post", submit_url, {"criteria": criteria})
    probe.send(
        "grading.comment",
        grader,
        "post",
        submit_url,
        data={"criteria": criteria, "comment": "\n".join(TEXTS)},
    )
    probe.page(candidate, f"/assessments/attempts/{attempt.pk}/result/", expect=False)
    probe.page(grader, "/assessments/grading/", expect=False)


LISTS = [
    "/api/v1/earnings/",
    "/api/v1/profiles/",
    "/api/v1/submissions/",
    "/api/v1/projects/",
    "/api/v1/me/payouts/",
    "/api/v1/finance/batches/",
    "/api/v1/finance/audit/",
    "/api/v1/finance/periods/",
    "/api/v1/time-entries/",
    "/api/v1/quality-actions/",
    "/api/v1/attempts/",
    "/api/v1/grading/tasks/",
    "/api/v1/sessions/",
    "/api/v1/reviews/queue/",
]


def _lookups(probe: Probe, scene: Scene) -> None:
    """ORM lookups in query parameters must be ignored or refused, never applied: the rows
    (or their count) stay those of the plain list."""
    for user in (scene.me, scene.boss):
        client = probe.api(user)
        for url in LISTS:
            plain = client.get(url)
            for name, value in ORM_LOOKUPS:
                probe.payloads += 1
                probe.fields.add(f"query.{name}")
                response = client.get(url, {name: value})
                if response.status_code >= 500:
                    probe.server_errors.append(f"{url}?{name}= -> {response.status_code}")
                elif (
                    response.status_code == 200
                    and "password" in name + value
                    and _rows(response) != _rows(plain)
                ):
                    probe.leaks.append(f"{url}?{name}={value} changed the rows")


def _rows(response: Any) -> Any:
    body = response.json()
    return body.get("count", body.get("results")) if isinstance(body, dict) else len(body)


def _profile(name: str, text: str) -> dict[str, Any]:
    if name == "full_name":
        return {"full_name": text}
    if name.startswith("degrees."):
        degree = {"level": "master", "field": "Linguistics", "institution": "", "year": 2015}
        return {"degrees": [{**degree, name.split(".")[1]: text}]}
    return {"credentials": [{"kind": "law", "licence_number": "L-1", "jurisdiction": text}]}


def _form(text: str) -> dict[str, Any]:
    return {
        "questions": [
            {
                "name": "verdict",
                "type": "single_label",
                "prompt": text[:2000],
                "help": text[:2000],
                "labels": [text[:60] or "a", "plain"],
            },
            {"name": "why", "type": "free_text", "prompt": text[:2000], "help": text[:2000]},
        ]
    }


def _jsonl_task(text: str) -> SimpleUploadedFile:
    line = task_line(
        TEXTS.index(text),
        priority=100,
        prompt=text,
        reference=text,
        metadata={"note": text},
        responses=[
            {"id": "a", "text": text, "model": text[:40]},
            {"id": "b", "text": "plain", "model": "m2"},
        ],
    )
    return SimpleUploadedFile("tasks.jsonl", json.dumps(line).encode() + b"\n")


def _csv_task(text: str) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["external_id", "prompt", "response_1", "response_2"])
    writer.writerow([f"c{TEXTS.index(text)}", text, text, "plain"])
    return SimpleUploadedFile("tasks.csv", buffer.getvalue().encode())


def _run_imports(probe: Probe, project: Any) -> None:
    for job in ImportJob.objects.filter(project=project).order_by("pk"):
        try:
            with transaction.atomic():
                evaluations.import_job_run(job_id=job.pk)
        except Exception as error:  # every failure is a finding, named in the report
            probe.server_errors.append(f"import job {job.pk} ({job.file.name}): {error!r}"[:300])


# Each defect the corpus found, alone.


def _assignment() -> tuple[User, Assignment]:
    project = project_with_tasks(1)
    person = qualified("general")
    marketplace.membership_join(project_id=project.pk, user=person)
    return person, evaluations.assignment_next(project_id=project.pk, user=person)


def test_json_nested_ten_thousand_deep_is_a_400_not_a_500(contributor) -> None:
    body = b'{"full_name": ' + DEEP_JSON.encode() + b"}"

    response = api_for(contributor).generic(
        "PATCH", "/api/v1/me/profile/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "JSON parse error - nested too deeply."


@pytest.mark.parametrize(
    ("escaped", "problem"),
    [("a\\u0000b", "NUL characters"), ("a\\ud800b", "lone surrogates")],
)
def test_json_text_no_database_can_hold_is_a_400_and_changes_nothing(escaped, problem) -> None:
    person, assignment = _assignment()
    body = b'{"draft": {"rationale": "' + escaped.encode() + b'"}}'

    response = api_for(person).generic(
        "PUT", f"/api/v1/assignments/{assignment.pk}/draft/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert Assignment.objects.get(pk=assignment.pk).draft == assignment.draft


def test_a_json_body_over_the_upload_limit_is_a_400_in_the_error_shape(
    settings, contributor
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api_for(contributor).patch(
        "/api/v1/me/profile/", {"full_name": "x" * 2000}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_a_nul_in_a_query_parameter_is_a_400_in_the_error_shape(staff_user) -> None:
    response = api_for(staff_user).get("/api/v1/projects/", {"status": NUL})

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_a_nul_in_a_page_form_field_is_a_400_and_saves_nothing() -> None:
    person, assignment = _assignment()
    browser = Client()
    browser.force_login(person)

    response = browser.post(f"/work/tasks/{assignment.pk}/draft/", {"q-rationale": NUL})

    assert response.status_code == 400
    assert Assignment.objects.get(pk=assignment.pk).draft == assignment.draft


def test_the_form_editor_page_refuses_a_nul_escape_in_form_text() -> None:
    project = project_with_tasks(1)
    boss = UserFactory(roles=("staff",), is_staff=True)
    browser = Client()
    browser.force_login(boss)
    schema = json.dumps({"questions": [{"name": "why", "type": "free_text", "prompt": NUL}]})

    response = browser.post(
        f"/work/projects/{project.pk}/manage/", {"action": "form", "schema": schema}
    )

    assert response.status_code == 200
    assert "may not contain NUL characters" in response.content.decode()
    assert EvaluationForm.objects.filter(project=project).count() == 1


def test_span_answers_posted_with_a_nul_escape_stay_raw_text_for_the_check() -> None:
    form = form_parse(
        {"questions": [{"name": "marks", "type": "spans", "prompt": "Mark.", "labels": ["x"]}]}
    )
    raw = '[{"response": "a", "start": 0, "end": 1, "label": "x\\u0000"}]'

    answers = answers_from_post(
        form=form, response_ids=["a"], data=QueryDict(mutable=True) | {"q-marks": raw}
    )

    assert answers == {"marks": raw}
