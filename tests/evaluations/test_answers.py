"""Answers checked against the form and the task: each bad answer named."""

import pytest

from evaluations.answers import answers_check, prelabel_usage
from evaluations.schema import form_parse
from tests.evaluations.test_schema import EVERY_TYPE

FORM = form_parse(EVERY_TYPE)
RESPONSES = [{"id": "a", "text": "The capital is Paris."}, {"id": "b", "text": "Lyon."}]
CODE = "def f():\n    return 1\n"
GOOD = {
    "helpful": {"a": 6, "b": 2},
    "overall": 4,
    "better": {"choice": "a", "strength": 3},
    "order": ["a", "b"],
    "topic": "code",
    "issues": ["wrong"],
    "why": "A is right and B names the wrong city.",
    "marks": [{"response": "b", "start": 0, "end": 4, "label": "error"}],
    "review": [{"line": 2, "severity": "minor", "comment": "Returns a constant."}],
}


def check(answers: dict, partial: bool = False) -> dict:
    return answers_check(
        form=FORM, responses=RESPONSES, code=CODE, answers=answers, partial=partial
    )[1]


def test_good_answers_pass() -> None:
    clean, problems = answers_check(form=FORM, responses=RESPONSES, code=CODE, answers=GOOD)
    assert problems == {}
    assert clean["better"] == {"choice": "a", "strength": 3}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"helpful": {"a": 9, "b": 2}}, "answers.helpful.a"),  # off the scale
        ({"helpful": {"a": 6}}, "answers.helpful"),  # a response not rated
        ({"helpful": {"a": 6, "b": 2, "z": 3}}, "answers.helpful.z"),  # no such response
        ({"overall": "4"}, "answers.overall"),
        ({"better": {"choice": "c", "strength": 1}}, "answers.better.choice"),
        ({"better": {"choice": "a"}}, "answers.better.strength"),
        ({"order": ["a"]}, "answers.order"),
        ({"topic": "poetry"}, "answers.topic"),  # unknown label
        ({"issues": ["wrong", "rude", "long"]}, "answers.issues"),  # over the max
        ({"why": "Too short"}, "answers.why"),
        (
            {"marks": [{"response": "b", "start": 2, "end": 99, "label": "error"}]},
            "answers.marks.0",
        ),  # outside the text
        ({"marks": [{"response": "a", "start": 0, "end": 3, "label": "typo"}]}, "answers.marks.0"),
        ({"review": [{"line": 40, "severity": "minor", "comment": "x"}]}, "answers.review.0"),
        ({"review": [{"line": 1, "severity": "huge", "comment": "x"}]}, "answers.review.0"),
        ({"nonsense": 1}, "answers.nonsense"),
    ],
)
def test_each_bad_answer_is_named(change: dict, path: str) -> None:
    assert list(check({**GOOD, **change})) == [path]


def test_a_missing_required_answer_is_named_unless_it_is_a_draft() -> None:
    answers = {key: value for key, value in GOOD.items() if key != "why"}
    assert check(answers) == {"answers.why": ["This question needs an answer."]}
    assert check(answers, partial=True) == {}


def test_a_tie_is_refused_where_the_form_forbids_it() -> None:
    form = form_parse({"questions": [{"name": "p", "type": "preference", "prompt": "Which?"}]})
    problems = answers_check(
        form=form, responses=RESPONSES, code="", answers={"p": {"choice": "tie"}}
    )[1]
    assert problems == {"answers.p.choice": ["Ties are not allowed here: choose one response."]}


def test_prelabel_usage_says_kept_changed_or_unanswered() -> None:
    usage = prelabel_usage(
        answers={"topic": "code", "overall": 3},
        prelabels={"topic": {"value": "code"}, "overall": {"value": 5}, "why": {"value": "x"}},
    )
    assert usage == {"topic": "kept", "overall": "changed", "why": "unanswered"}
