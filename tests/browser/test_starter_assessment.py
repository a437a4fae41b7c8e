"""A person takes the Starter Assessment in the browser, two graders grade the written answers,
and the person sees the pass, the qualification granted and the tier it opens."""

import re

from playwright.sync_api import Browser, Page, expect

from assessments.models import Attempt, AttemptItem
from assessments.services import assessment_content_load
from contributors.models import ContributorProfile, Qualification
from tests.assessments.helpers import make_grader
from tests.browser.conftest import BROWSER
from tests.contributors.factories import PASSWORD, ContributorFactory

pytestmark = BROWSER

LONG_TEXT = (
    "Here is a clear, accurate answer. It names the problem in the original response, explains "
    "why it matters to the person asking, gives the correct facts in a sensible order, and ends "
    "with a short practical next step. It stays polite, avoids jargon, and keeps to what the user "
    "asked rather than padding the reply with unrelated detail or invented sources. Every claim in "
    "it can be checked, and the tone suits a helpful assistant."
)


def log_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def answer(page: Page, item: AttemptItem, question: dict) -> None:
    """Answer one question with its key, through the page, and wait for the autosave."""
    card = page.locator(f"#item-{item.pk}")
    kind = question["type"]
    with page.expect_response(lambda response: f"/items/{item.pk}/answer/" in response.url):
        if kind == "single_choice":
            card.locator(f'input[name="choice"][value="{question["answer"]}"]').check()
        elif kind == "multiple_choice":
            for option in question["answer"][:-1]:
                with page.expect_response(lambda response: "/answer/" in response.url):
                    card.locator(f'input[name="choices"][value="{option}"]').check()
            card.locator(f'input[name="choices"][value="{question["answer"][-1]}"]').check()
        elif kind in ("numeric", "short_text"):
            value = str(question["answer"]) if kind == "numeric" else question["accept"][0]
            card.locator("input[type=text]").fill(value)
            card.locator("input[type=text]").press("Tab")
        elif kind == "rating":
            dimensions = question["dimensions"]
            for dimension in dimensions[:-1]:
                with page.expect_response(lambda response: "/answer/" in response.url):
                    card.locator(
                        f'input[name="rating-{dimension["id"]}"][value="{dimension["answer"]}"]'
                    ).check()
            last = dimensions[-1]
            card.locator(f'input[name="rating-{last["id"]}"][value="{last["answer"]}"]').check()
        elif kind == "pairwise":
            with page.expect_response(lambda response: "/answer/" in response.url):
                card.locator(f'input[name="choice"][value="{question["answer"]}"]').check()
            card.locator("textarea").fill(LONG_TEXT)
            card.locator("textarea").press("Tab")
        elif kind == "long_form":
            card.locator("textarea").fill(LONG_TEXT)
            card.locator("textarea").press("Tab")
    expect(card.locator(".save-state")).to_contain_text("Saved at")


def grade_everything(page: Page, shoot, name: str) -> int:
    graded = 0
    page.goto("/assessments/grading/")
    while True:
        page.get_by_role("button", name="Grade the next answer").click()
        if page.get_by_text("Nothing is waiting for you to grade right now.").is_visible():
            return graded
        expect(page.get_by_role("heading", name="Rubric")).to_be_visible()
        if graded == 0:
            shoot(f"{name}-grading-form", on=page)
        for field in page.locator("input[type=number]").all():
            field.fill(field.get_attribute("max"))
        page.get_by_role("button", name="Save the grade").click()
        expect(page.get_by_text("Grade saved. Thank you.")).to_be_visible()
        graded += 1


def test_take_the_starter_get_graded_and_see_the_pass(
    page: Page, browser: Browser, live_server, shoot
) -> None:
    assessment_content_load()
    person = ContributorFactory(
        status="assessing", email="nadia@example.org", full_name="Nadia Haddad"
    )
    graders = [make_grader("general"), make_grader("general")]

    log_in(page, person.email)
    expect(page.get_by_role("heading", name="Take the Starter Assessment")).to_be_visible()
    page.get_by_role("link", name="Open the Starter Assessment").click()
    expect(page.get_by_text("One only — it cannot be retaken")).to_be_visible()
    expect(page.get_by_text("General evaluation — General tier")).to_be_visible()
    shoot("starter-before")
    page.get_by_role("button", name=re.compile("Start the Starter Assessment")).click()

    expect(page.locator(".countdown")).to_have_text(re.compile(r"^(59|60):\d\d$"))
    attempt = Attempt.objects.get(user=person)
    items = list(attempt.items.order_by("position"))
    assert len(items) == 12
    shoot("attempt-start")
    for item in items:
        answer(page, item, attempt.assessment.question(item.question_id))
    shoot("attempt-answered")

    # A reload keeps every saved answer.
    page.reload()
    assert AttemptItem.objects.filter(attempt=attempt, answer__isnull=True).count() == 0
    first = items[0]
    expect(page.locator(f"#item-{first.pk} .save-state")).to_contain_text("Saved at")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("heading", name="Being scored")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"5 written answers wait for two independent reviewers"))
    ).to_be_visible()
    shoot("result-waiting")

    for number, grader in enumerate(graders, start=1):
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, base_url=live_server.url
        )
        grader_page = context.new_page()
        log_in(grader_page, grader.email)
        assert grade_everything(grader_page, shoot, f"grader{number}") == 5
        context.close()

    page.goto(f"/assessments/attempts/{attempt.pk}/result/")
    expect(page.get_by_role("heading", name="You passed")).to_be_visible()
    expect(page.get_by_text("Your score: 100.00%")).to_be_visible()
    expect(page.get_by_text("General evaluation — opens the General tier")).to_be_visible()
    expect(page.get_by_role("cell", name="Comparing responses")).to_be_visible()
    shoot("result-passed")

    assert Qualification.objects.filter(
        user=person, code="general", revoked_at__isnull=True
    ).exists()
    assert ContributorProfile.objects.get(user=person).status == "active"
    page.goto("/")
    expect(page.get_by_text("Active", exact=True)).to_be_visible()
    shoot("home-active")
