"""Scoring of every question type, answer checks, and what a candidate may see."""

from decimal import Decimal

import pytest

from assessments.content import CONTENT_DIR, content_parse
from assessments.errors import InvalidAnswer
from assessments.questions import answer_clean, normalise, question_public, score_objective

SINGLE = {
    "type": "single_choice",
    "points": "5",
    "options": [{"id": "a"}, {"id": "b"}],
    "answer": "a",
}
MULTI = {
    "type": "multiple_choice",
    "points": "6",
    "options": [{"id": x} for x in "abcd"],
    "answer": ["a", "b", "c"],
}
NUMERIC = {"type": "numeric", "points": "5", "answer": "66", "tolerance": "0.01"}
SHORT = {
    "type": "short_text",
    "points": "5",
    "accept": ["9 November 1989"],
    "patterns": ["(.* )?1989"],
}
RATING = {
    "type": "rating",
    "points": "6",
    "scale": {"min": 1, "max": 5},
    "dimensions": [
        {"id": "helpfulness", "label": "H", "answer": 4},
        {"id": "accuracy", "label": "A", "answer": 2},
        {"id": "harmlessness", "label": "S", "answer": 5},
    ],
    "credit": ["1", "0.5"],
}
PAIR = {"type": "pairwise", "points": "10", "choice_points": "4", "answer": "b"}


def score(question: dict, answer: dict) -> Decimal:
    return score_objective(question, answer)[0]


@pytest.mark.parametrize(("choice", "expected"), [("a", "5"), ("b", "0"), ("", "0")])
def test_single_choice_is_all_or_nothing(choice: str, expected: str) -> None:
    assert score(SINGLE, {"choice": choice}) == Decimal(expected)


@pytest.mark.parametrize(
    ("picked", "expected"),
    [
        (["a", "b", "c"], "6.00"),  # all right
        (["a", "b"], "4.00"),  # 2 of 3 right
        (["a", "b", "d"], "2.00"),  # 2 right, 1 wrong: (2 - 1) / 3
        (["a", "b", "c", "d"], "4.00"),  # (3 - 1) / 3
        (["d"], "0.00"),  # never below zero
        ([], "0.00"),
    ],
)
def test_multiple_choice_gives_partial_credit_minus_wrong_picks(
    picked: list[str], expected: str
) -> None:
    assert score(MULTI, {"choices": picked}) == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "expected"), [("66", "5"), ("66.01", "5"), ("65.98", "0"), ("", "0")]
)
def test_numeric_counts_within_the_tolerance(value: str, expected: str) -> None:
    assert score(NUMERIC, {"value": value}) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  9 November 1989. ", "5"),
        ("9 NOVEMBER   1989", "5"),
        ("1989", "5"),
        ("in 1989", "5"),
        ("1991", "0"),
        ("", "0"),
    ],
)
def test_short_text_matches_after_normalising(text: str, expected: str) -> None:
    assert score(SHORT, {"text": text}) == Decimal(expected)


def test_normalising_folds_case_space_and_surrounding_punctuation() -> None:
    assert normalise('  "Paris,   France."  ') == "paris, france"


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        ({"helpfulness": 4, "accuracy": 2, "harmlessness": 5}, "6.00"),
        ({"helpfulness": 5, "accuracy": 2, "harmlessness": 5}, "5.00"),  # one off by one: half of 2
        ({"helpfulness": 3, "accuracy": 3, "harmlessness": 4}, "3.00"),  # all off by one
        ({"helpfulness": 1, "accuracy": 5, "harmlessness": 1}, "0.00"),  # all far off
        ({"helpfulness": 4}, "2.00"),  # unanswered dimensions earn nothing
    ],
)
def test_rating_credit_falls_with_distance_from_the_key(ratings: dict, expected: str) -> None:
    assert score(RATING, {"ratings": ratings}) == Decimal(expected)


def test_pairwise_choice_earns_only_the_choice_points() -> None:
    assert score(PAIR, {"choice": "b", "justification": "x"}) == Decimal("4.00")
    assert score(PAIR, {"choice": "a", "justification": "x"}) == Decimal("0")


@pytest.mark.parametrize(
    ("question", "answer", "field"),
    [
        (SINGLE, {"choice": "z"}, "answer.choice"),
        (MULTI, {"choices": ["a", "z"]}, "answer.choices"),
        (NUMERIC, {"value": "sixty"}, "answer.value"),
        (NUMERIC, {"value": "Infinity"}, "answer.value"),
        (RATING, {"ratings": {"helpfulness": 9}}, "answer.ratings.helpfulness"),
        (RATING, {"ratings": {"charm": 3}}, "answer.ratings"),
        (SHORT, {"text": "x" * 501}, "answer.text"),
        (SHORT, {"text": "a\x00b"}, "answer.text"),
        ({"type": "long_form"}, {"text": 5}, "answer.text"),
        (PAIR, {"choice": "c"}, "answer.choice"),
    ],
)
def test_bad_answers_name_the_field(question: dict, answer: dict, field: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        answer_clean(question, answer)
    assert list(caught.value.fields) == [field]


def test_an_answer_must_be_an_object() -> None:
    with pytest.raises(InvalidAnswer):
        answer_clean(SINGLE, ["a"])


SECRET_KEYS = {
    "answer",
    "accept",
    "patterns",
    "rubric",
    "tests",
    "choice_points",
    "credit",
    "tolerance",
}


@pytest.mark.parametrize("path", sorted(CONTENT_DIR.glob("*.yaml")), ids=lambda path: path.name)
def test_no_key_rubric_or_hidden_test_reaches_a_candidate(path) -> None:
    content, _raw = content_parse(path)
    data = content.model_dump(mode="json")
    for section in data["sections"]:
        for question in section["questions"]:
            public = question_public(question)
            assert not SECRET_KEYS & set(public), question["id"]
            for dimension in public.get("dimensions", []):
                assert set(dimension) == {"id", "label"}
            for criterion in question.get("rubric", []):
                assert criterion["text"] not in str(public)
