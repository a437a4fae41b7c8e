"""Evaluation forms: every question type validates; a bad form names the path of each bad part."""

import pytest

from evaluations.schema import FormInvalid, form_parse

EVERY_TYPE = {
    "questions": [
        {
            "name": "helpful",
            "type": "rating",
            "prompt": "Helpful?",
            "min": 1,
            "max": 7,
            "labels": {"1": "No", "7": "Yes"},
        },
        {"name": "overall", "type": "rating", "prompt": "Overall?", "per_response": False},
        {
            "name": "better",
            "type": "preference",
            "prompt": "Better?",
            "allow_tie": True,
            "strength": True,
        },
        {"name": "order", "type": "ranking", "prompt": "Rank them."},
        {"name": "topic", "type": "single_label", "prompt": "Topic?", "labels": ["code", "maths"]},
        {
            "name": "issues",
            "type": "multi_label",
            "prompt": "Issues?",
            "labels": ["wrong", "rude", "long"],
            "max": 2,
        },
        {
            "name": "why",
            "type": "free_text",
            "prompt": "Why?",
            "min_length": 20,
            "role": "rationale",
        },
        {
            "name": "rewrite",
            "type": "free_text",
            "prompt": "Rewrite it.",
            "role": "rewrite",
            "required": False,
        },
        {
            "name": "marks",
            "type": "spans",
            "prompt": "Mark errors.",
            "labels": ["error", "unsupported"],
        },
        {"name": "review", "type": "code_review", "prompt": "Review the code."},
    ]
}


def test_a_form_with_every_question_type_validates() -> None:
    form = form_parse(EVERY_TYPE)
    assert [question.type for question in form.questions] == [
        "rating",
        "rating",
        "preference",
        "ranking",
        "single_label",
        "multi_label",
        "free_text",
        "free_text",
        "spans",
        "code_review",
    ]
    assert (form.min_responses(), form.needs_code()) == (2, True)
    assert form.questions[-1].severities == ["info", "minor", "major", "critical"]


@pytest.mark.parametrize(
    ("question", "path", "message"),
    [
        (
            {"name": "r", "type": "rating", "prompt": "R", "min": 5, "max": 3},
            "questions.0",
            "needs min < max",
        ),
        (
            {"name": "r", "type": "rating", "prompt": "R", "labels": {"9": "x"}},
            "questions.0",
            "labels must be on the scale",
        ),
        (
            {"name": "l", "type": "single_label", "prompt": "L", "labels": ["a"]},
            "questions.0.labels",
            "at least 2",
        ),
        (
            {"name": "l", "type": "single_label", "prompt": "L", "labels": ["a", "a"]},
            "questions.0",
            "labels must be unique",
        ),
        (
            {"name": "m", "type": "multi_label", "prompt": "M", "labels": ["a"], "min": 2},
            "questions.0",
            "needs 0 <= min",
        ),
        (
            {"name": "t", "type": "free_text", "prompt": "T", "min_length": 50, "max_length": 10},
            "questions.0",
            "min_length is above",
        ),
        (
            {"name": "Bad Name", "type": "ranking", "prompt": "R"},
            "questions.0.name",
            "String should match",
        ),
        (
            {"name": "x", "type": "essay", "prompt": "X"},
            "questions.0",
            "does not match any of the expected tags",
        ),
        (
            {"name": "x", "type": "ranking", "prompt": "X", "colour": "red"},
            "questions.0.colour",
            "Extra inputs",
        ),
    ],
)
def test_a_bad_question_is_named_by_its_path(question: dict, path: str, message: str) -> None:
    with pytest.raises(FormInvalid) as caught:
        form_parse({"questions": [question]})
    assert path in caught.value.problems, caught.value.problems
    assert message in " ".join(caught.value.problems[path])


def test_question_names_are_unique() -> None:
    with pytest.raises(FormInvalid) as caught:
        form_parse({"questions": [{"name": "a", "type": "ranking", "prompt": "x"}] * 2})
    assert caught.value.problems == {"form": ["question names used twice: ['a']"]}


def test_an_empty_form_is_refused() -> None:
    with pytest.raises(FormInvalid) as caught:
        form_parse({"questions": []})
    assert "questions" in caught.value.problems
