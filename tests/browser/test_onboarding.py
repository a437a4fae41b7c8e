"""A person signs up, verifies their address from the mail, fills in the application, and sees
what comes next."""

import re

from django.core import mail
from playwright.sync_api import Page, expect

from contributors.models import ContributorProfile
from tests.browser.conftest import BROWSER

pytestmark = BROWSER


def test_sign_up_verify_apply_and_see_the_next_step(page: Page, shoot, live_server) -> None:
    page.goto("/")
    expect(
        page.get_by_role("heading", name="Get paid for your expertise in evaluating AI")
    ).to_be_visible()
    shoot("landing")

    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Full name").fill("Maya Okafor")
    page.get_by_label("E-mail address").fill("maya@example.org")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-42")
    page.get_by_label("Repeat the password").fill("a-long-passphrase-42")
    shoot("sign-up")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_text("We sent a verification link to maya@example.org")).to_be_visible()
    expect(page.get_by_role("heading", name="Verify your e-mail address")).to_be_visible()
    shoot("home-verify")

    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/verify/\S+/)", mail.outbox[0].body).group(1)
    page.goto(link)
    expect(page.get_by_text("Thank you: maya@example.org is verified.")).to_be_visible()
    expect(page.get_by_role("heading", name="Complete your application")).to_be_visible()
    shoot("home-verified")

    page.get_by_role("link", name="Open the application").click()
    page.get_by_label("Education level").select_option("master")
    page.get_by_label("Years of professional experience").fill("7")
    degrees = page.locator("#section-degrees")
    degrees.get_by_label("Level").select_option("master")
    degrees.get_by_label("Field of study").fill("Chemistry")
    degrees.get_by_label("Institution").fill("University of Lagos")
    degrees.get_by_label("Year awarded").fill("2016")
    languages = page.locator("#section-languages")
    languages.get_by_label("Language").select_option("en")
    languages.get_by_label("Proficiency").select_option("native")
    languages.get_by_role("button", name="Add a language").click()
    languages.locator(".row").nth(1).get_by_label("Language").select_option("yo")
    languages.locator(".row").nth(1).get_by_label("Proficiency").select_option("fluent")
    page.get_by_label("Chemistry").check()
    page.get_by_label("Writing and editing").check()
    page.get_by_label("Python").check()
    page.get_by_label("Country").select_option("NG")
    page.get_by_label("Time zone").select_option("Africa/Lagos")
    page.get_by_label("Weekly availability (hours)").fill("80")
    page.get_by_label("Payout e-mail").fill("not-an-address")
    shoot("application-filled")
    page.get_by_role("button", name="Submit application").click()

    # The bad field is shown beside it, and nothing was saved.
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    shoot("application-error")
    assert ContributorProfile.objects.get(user__email="maya@example.org").education_level == ""

    page.get_by_label("Payout e-mail").fill("maya.pay@example.org")
    page.get_by_role("button", name="Submit application").click()

    expect(page.get_by_text("Your application is submitted.")).to_be_visible()
    expect(page.get_by_role("heading", name="Take the Starter Assessment")).to_be_visible()
    shoot("home-next-step")

    profile = ContributorProfile.objects.get(user__email="maya@example.org")
    assert profile.status == "assessing"
    assert sorted(profile.languages.values_list("language", flat=True)) == ["en", "yo"]

    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_text("Chemistry, University of Lagos (2016)")).to_be_visible()
    expect(page.get_by_text("Applicant → Assessing")).to_be_visible()
    shoot("profile")
