"""Content files: checked as a whole, loaded all or nothing, versions never rewritten."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assessments.content import CONTENT_DIR, content_parse
from assessments.errors import ContentInvalid
from assessments.models import Assessment, Attempt
from assessments.services import assessment_content_load, attempt_start
from tests.assessments.helpers import CONTENT

pytestmark = pytest.mark.django_db

BAD = """
slug: broken
version: 1
title: Broken
kind: specialist
track: mathematics
summary: x
instructions: x
time_limit_minutes: 60
pass_mark: 70
grants: [mathematics, astrology]
sections:
  - key: one
    title: One
    draw: 1
    questions:
      - id: q1
        type: single_choice
        points: 5
        prompt: Pick
        options: [{id: a, text: A}, {id: b, text: B}]
        answer: c
      - {id: q2, type: numeric, points: 5, prompt: "How many?", answer: 3}
"""


def test_the_shipped_content_is_valid_with_pools_larger_than_draws() -> None:
    report = assessment_content_load()
    assert sorted(report.created) == ["coding v1", "finance v1", "mathematics v1", "starter v1"]
    for path in sorted(CONTENT_DIR.glob("*.yaml")):
        content, _raw = content_parse(path)
        pool = sum(len(section.questions) for section in content.sections)
        drawn = sum(section.draw for section in content.sections)
        assert pool > drawn, path.name
    starter = Assessment.objects.get(slug="starter", is_current=True)
    assert (starter.kind, starter.max_attempts, starter.grants) == ("starter", 1, ["general"])
    types = {
        q["type"]
        for s in Assessment.objects.get(slug="coding").content["sections"]
        for q in s["questions"]
    }
    assert {"single_choice", "multiple_choice", "code", "long_form"} <= types


def test_loading_again_changes_nothing() -> None:
    assessment_content_load(paths=[CONTENT / "tiny-starter.yaml"])
    report = assessment_content_load(paths=[CONTENT / "tiny-starter.yaml"])
    assert (report.created, report.unchanged) == ([], ["starter v1"])
    assert Assessment.objects.count() == 1


def test_a_malformed_file_is_named_with_its_question_and_problem_and_nothing_loads(
    tmp_path: Path,
) -> None:
    (tmp_path / "broken.yaml").write_text(BAD)
    with pytest.raises(ContentInvalid) as caught:
        assessment_content_load(paths=[CONTENT / "tiny-starter.yaml", tmp_path / "broken.yaml"])
    assert (
        "broken.yaml: grants: Value error, unknown qualifications ['astrology']"
        in caught.value.problems
    )
    assert (
        "broken.yaml: question 'q1': Value error, answer 'c' is not one of the options"
        in caught.value.problems
    )
    assert Assessment.objects.count() == 0


def test_the_load_command_fails_loudly_and_loads_nothing(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("slug: [unclosed")
    with pytest.raises(CommandError, match=r"broken\.yaml: not readable YAML"):
        call_command("assessments_load", str(tmp_path / "broken.yaml"))
    assert Assessment.objects.count() == 0


def test_a_file_missing_fields_names_each(tmp_path: Path) -> None:
    (tmp_path / "thin.yaml").write_text("slug: thin\nversion: 1\n")
    with pytest.raises(ContentInvalid) as caught:
        assessment_content_load(paths=[tmp_path / "thin.yaml"])
    assert "thin.yaml: title: Field required" in caught.value.problems
    assert "thin.yaml: sections: Field required" in caught.value.problems


def test_changing_a_loaded_version_is_refused(tmp_path: Path) -> None:
    assessment_content_load(paths=[CONTENT / "tiny-starter.yaml"])
    edited = (
        (CONTENT / "tiny-starter.yaml")
        .read_text()
        .replace("Which is the capital", "Which is the main city")
    )
    (tmp_path / "tiny-starter.yaml").write_text(edited)
    with pytest.raises(ContentInvalid, match="starter v1 is already loaded with other content"):
        assessment_content_load(paths=[tmp_path / "tiny-starter.yaml"])
    assert (
        Assessment.objects.get().question("q-single")["prompt"] == "Which is the capital of France?"
    )


def test_a_new_version_becomes_current_and_old_attempts_keep_their_questions(
    tmp_path: Path, candidate
) -> None:
    assessment_content_load(paths=[CONTENT / "tiny-starter.yaml"])
    attempt = attempt_start(user=candidate, slug="starter")
    edited = (
        (CONTENT / "tiny-starter.yaml")
        .read_text()
        .replace("version: 1", "version: 2")
        .replace("Which is the capital", "Which is the main city")
    )
    (tmp_path / "tiny-starter.yaml").write_text(edited)

    report = assessment_content_load(paths=[tmp_path / "tiny-starter.yaml"])

    assert report.created == ["starter v2"]
    assert list(Assessment.objects.filter(is_current=True).values_list("version", flat=True)) == [2]
    kept = Attempt.objects.get(pk=attempt.pk).assessment
    assert (kept.version, kept.question("q-single")["prompt"]) == (
        1,
        "Which is the capital of France?",
    )


def test_a_starter_must_be_taken_once(tmp_path: Path) -> None:
    text = (CONTENT / "tiny-starter.yaml").read_text().replace("max_attempts: 1", "max_attempts: 2")
    (tmp_path / "starter.yaml").write_text(text)
    with pytest.raises(ContentInvalid, match=r"retake\.max_attempts must be 1"):
        assessment_content_load(paths=[tmp_path / "starter.yaml"])
