"""A contributor opens the workspace, compares two AI responses, rates them, writes a rationale,
submits, and gets the next task at once."""

import re

from playwright.sync_api import Page, expect

from evaluations.models import Assignment, Submission
from tests.browser.conftest import BROWSER
from tests.browser.test_starter_assessment import log_in
from tests.evaluations.helpers import project_with_tasks, worker

pytestmark = BROWSER


def test_compare_rate_explain_submit_and_get_the_next_task(page: Page, shoot) -> None:
    project = project_with_tasks(3, title="Answer comparisons")
    person = worker(project)

    log_in(page, person.email)
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("button", name="Start a task").click()
    expect(page.get_by_role("heading", name="Prompt")).to_be_visible()
    expect(page.get_by_role("heading", name="Response A")).to_be_visible()
    expect(page.get_by_role("heading", name="Response B")).to_be_visible()
    expect(page.locator(".timer")).to_have_text(re.compile(r"^0:00:\d\d$"))
    shoot("workspace")
    first = Assignment.objects.get(contributor=person, status="active")

    helpfulness = page.locator("#question-helpfulness")
    helpfulness.locator(".rating-group").nth(0).get_by_label("6").check()
    helpfulness.locator(".rating-group").nth(1).get_by_label("3").check()
    page.keyboard.press("b")  # the keyboard shortcut picks Response B
    expect(page.locator("#question-better").get_by_label("Response B")).to_be_checked()
    page.locator("#question-better").get_by_label("Clearly").check()
    page.locator("#question-rationale textarea").fill(
        "B gives the right fact and says why; A is vague."
    )
    page.locator("#question-rationale textarea").press("Tab")
    expect(page.locator("#save-state")).to_contain_text("Draft saved")
    shoot("answered")

    page.get_by_role("button", name="Submit and take the next task").click()
    expect(page.get_by_text("Submitted. Here is your next task.")).to_be_visible()
    expect(page.get_by_role("heading", name="Response A")).to_be_visible()
    shoot("next-task")

    submission = Submission.objects.get(assignment=first)
    ids = first.response_order
    assert submission.answers["helpfulness"] == {ids[0]: 6, ids[1]: 3}
    assert submission.answers["better"] == {"choice": ids[1], "strength": 2}
    assert submission.answers["rationale"].startswith("B gives the right fact")
    following = Assignment.objects.get(contributor=person, status="active")
    assert following.task_id != first.task_id
    assert page.url.endswith(f"/work/tasks/{following.pk}/")


def test_a_bad_answer_is_shown_beside_its_question_and_nothing_is_submitted(
    page: Page, shoot
) -> None:
    project = project_with_tasks(1, title="Answer comparisons")
    person = worker(project)
    log_in(page, person.email)
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("button", name="Start a task").click()
    page.locator("#question-rationale textarea").fill("Too short")
    page.get_by_role("button", name="Submit and take the next task").click()
    expect(page.get_by_text("Not submitted.")).to_be_visible()
    expect(page.locator("#question-rationale .errorlist")).to_contain_text(
        "Write at least 10 characters"
    )
    expect(page.locator("#question-helpfulness .errorlist")).to_contain_text(
        "This question needs an answer."
    )
    shoot("errors")
    assert not Submission.objects.exists()


def test_the_workspace_fits_a_phone(page: Page, shoot) -> None:
    project = project_with_tasks(1, title="Answer comparisons")
    person = worker(project)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, person.email)
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("button", name="Start a task").click()
    expect(page.get_by_role("heading", name="Response B")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shoot("phone")
