"""A peer reviewer rejects a submission with a comment; the contributor sees the verdict and
the earning leaves their pending balance; they appeal, and an expert sees the appeal."""

import re
from decimal import Decimal

from playwright.sync_api import Browser, Page, expect

from evaluations import services
from evaluations.models import Appeal, Review, Submission
from evaluations.selectors import quality_settings_for
from marketplace.models import EarningEntry
from tests.browser.conftest import BROWSER
from tests.browser.test_starter_assessment import log_in
from tests.evaluations.helpers import project_with_tasks, worker
from tests.evaluations.quality_helpers import do_task, reviewer
from tests.marketplace.helpers import staff

pytestmark = BROWSER


def test_a_reviewer_rejects_and_the_contributor_sees_it_and_loses_the_pending_pay(
    page: Page, browser: Browser, live_server, shoot
) -> None:
    boss = staff()
    project = project_with_tasks(
        3,
        title="Compare answers",
        actor=boss,
        pay_model="per_task",
        task_minutes=6,
        pay_rate=Decimal("30"),
    )
    services.quality_settings_set(
        project_id=project.pk,
        actor=boss,
        peer_review=True,
        expert_review=True,
        expert_audit_rate=0,  # no sampled audit: it depends on the review's id
    )
    person = worker(project)
    submission = do_task(project, person)
    assert submission.status == Submission.Status.IN_REVIEW
    assert EarningEntry.objects.get(contributor=person).state == "pending"
    checker = reviewer()

    log_in(page, checker.email)
    page.get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("cell", name="Compare answers")).to_be_visible()
    shoot("queue")
    page.get_by_role("button", name="Review the oldest").click()
    expect(page.get_by_role("heading", name="Peer review: Compare answers")).to_be_visible()
    expect(page.get_by_text("The first one answers the question directly")).to_be_visible()
    expect(page.get_by_text(person.full_name)).to_have_count(0)  # blind review
    shoot("review")
    page.locator(".rubric-item").nth(0).get_by_label("1", exact=True).check()
    page.locator(".rubric-item").nth(1).get_by_label("2", exact=True).check()
    page.get_by_role("radio", name="Reject").check()
    page.get_by_role("button", name="Save and go back to the queue").click()
    expect(page.locator(".form-errors")).to_contain_text("Tell the contributor")  # no comment
    shoot("comment-needed")
    page.locator(".rubric-item").nth(0).get_by_label("1", exact=True).check()
    page.locator(".rubric-item").nth(1).get_by_label("2", exact=True).check()
    page.get_by_role("radio", name="Reject").check()
    page.get_by_label("Comment for the contributor").fill(
        "Response B is the correct one: A gets the fact wrong."
    )
    page.get_by_role("button", name="Save and go back to the queue").click()
    expect(page.get_by_text("Verdict recorded.")).to_be_visible()
    shoot("verdict-recorded")
    assert Review.objects.get(submission=submission).verdict == "reject"

    contributor = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=live_server.url
    ).new_page()
    log_in(contributor, person.email)
    contributor.get_by_role("link", name="Earnings").click()
    expect(contributor.locator(".totals .card").first).to_contain_text(
        re.compile(r"Pending\s*0\.00 USD")
    )
    expect(contributor.get_by_role("cell", name=re.compile("^Reversal"))).to_be_visible()
    shoot("earnings", on=contributor)
    contributor.get_by_role("link", name="My quality").click()
    expect(contributor.get_by_role("cell", name="Reject", exact=True)).to_be_visible()
    expect(
        contributor.get_by_role(
            "cell", name="Response B is the correct one: A gets the fact wrong."
        )
    ).to_be_visible()
    shoot("my-quality", on=contributor)
    contributor.get_by_role("link", name="Appeal").click()
    expect(contributor.get_by_role("heading", name="Reject (peer review")).to_be_visible()
    contributor.get_by_label("Why is the rejection wrong?").fill(
        "I preferred A because B's date is wrong; please check the source."
    )
    contributor.get_by_role("button", name="Send the appeal").click()
    expect(contributor.get_by_text("Appeal sent.")).to_be_visible()
    shoot("appealed", on=contributor)

    entry = EarningEntry.objects.get(contributor=person, kind="task")
    assert entry.state == "reversed"
    assert Appeal.objects.get(submission=submission).status == "open"
    assert Review.objects.filter(submission=submission, level="expert", reason="appeal").exists()


def test_staff_run_aggregation_read_the_quality_page_and_change_the_rules(
    page: Page, shoot
) -> None:
    boss = staff()
    project = project_with_tasks(4, overlap=2, title="Compare answers", actor=boss)
    services.quality_settings_set(project_id=project.pk, actor=boss, peer_review=True)
    for _ in range(2):
        person = worker(project)
        for _ in range(4):
            do_task(project, person)

    log_in(page, boss.email)
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("link", name="Quality").click()
    expect(page.get_by_role("heading", name="Quality of Compare answers")).to_be_visible()
    expect(page.get_by_text("Not aggregated yet.")).to_be_visible()
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_text("Aggregation queued")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("^better"))).to_be_visible()
    leaderboard = page.get_by_role("img", name=re.compile("Models ranked by Bradley–Terry"))
    expect(leaderboard).to_be_visible()
    assert leaderboard.evaluate("image => image.naturalWidth") > 0  # the SVG loaded
    expect(page.get_by_role("cell", name="m1")).to_be_visible()
    shoot("quality-page")

    page.get_by_label("then this share").fill("0.25")
    page.get_by_label("Review rubric").fill('[{"name": "Bad", "label": "x", "max": 5}]')
    page.get_by_role("button", name="Save the rules").click()
    expect(page.locator(".form-errors")).to_contain_text("rubric")
    shoot("rules-refused")
    page.get_by_label("then this share").fill("0.25")
    page.get_by_label("Review rubric").fill(
        '[{"name": "accuracy", "label": "Judgements are right", "max": 4}]'
    )
    page.get_by_role("button", name="Save the rules").click()
    expect(page.get_by_text("Quality settings saved.")).to_be_visible()
    shoot("rules-saved")
    saved = quality_settings_for(project=project)
    assert saved.review_rate == 0.25
    assert saved.rubric == [{"name": "accuracy", "label": "Judgements are right", "max": 4}]
