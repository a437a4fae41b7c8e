"""Questions as data: what a candidate may see, checking answers, and objective scoring.

Questions are the mappings of a loaded content file (assessments/content.py describes them).
Answers are small mappings whose shape depends on the question type:

    single_choice    {"choice": id}
    multiple_choice  {"choices": [id, ...]}
    numeric          {"value": "12.5"}
    short_text       {"text": str}
    rating           {"ratings": {dimension id: int}}
    pairwise         {"choice": "a" | "b", "justification": str}
    long_form        {"text": str}
    code             {"code": str}
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from assessments.errors import InvalidAnswer

CENT = Decimal("0.01")
OBJECTIVE = {"single_choice", "multiple_choice", "numeric", "short_text", "rating"}
HUMAN_GRADED = {"long_form", "pairwise"}
LIMITS = {"text": 20_000, "short_text": 500, "code": 50_000}

# Whatever is not listed here stays on the server (answer keys, rubric, hidden tests).
PUBLIC_FIELDS = {
    "single_choice": ("options",),
    "multiple_choice": ("options",),
    "numeric": ("unit",),
    "short_text": (),
    "rating": ("response", "scale"),
    "pairwise": ("responses",),
    "long_form": ("min_words",),
    "code": ("language", "function", "starter", "examples"),
}


def points(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def question_public(question: dict[str, Any]) -> dict[str, Any]:
    """The part of a question a candidate sees: never a key, a rubric or a hidden test."""
    qtype = question["type"]
    public = {key: question[key] for key in ("id", "type", "prompt") if key in question}
    public["points"] = str(points(question["points"]))
    public["context"] = question.get("context", "")
    for key in PUBLIC_FIELDS[qtype]:
        if key in question:
            public[key] = question[key]
    if qtype == "rating":
        public["dimensions"] = [
            {"id": d["id"], "label": d["label"]} for d in question["dimensions"]
        ]
    if qtype == "multiple_choice":
        public["rule"] = (
            "Several options may be right. Each right option you pick earns its share; each "
            "wrong one takes a share away; the score never goes below zero."
        )
    return public


def _text(raw: dict[str, Any], key: str, limit: int) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise InvalidAnswer(fields={f"answer.{key}": ["Expected text."]})
    if len(value) > limit:
        raise InvalidAnswer(fields={f"answer.{key}": [f"Use at most {limit} characters."]})
    if "\x00" in value:
        raise InvalidAnswer(fields={f"answer.{key}": ["Text may not contain NUL characters."]})
    return value


def answer_clean(question: dict[str, Any], raw: Any) -> dict[str, Any]:
    """Check an answer's shape against its question; a partial answer (autosave) is fine."""
    if not isinstance(raw, dict):
        raise InvalidAnswer(
            "The answer must be an object.", fields={"answer": ["Expected an object."]}
        )
    qtype = question["type"]
    if qtype in ("single_choice", "pairwise"):
        allowed = [o["id"] for o in question["options"]] if qtype == "single_choice" else ["a", "b"]
        choice = raw.get("choice")
        if choice not in (*allowed, None, ""):
            raise InvalidAnswer(fields={"answer.choice": [f"Choose one of: {', '.join(allowed)}."]})
        cleaned: dict[str, Any] = {"choice": choice or ""}
        if qtype == "pairwise":
            cleaned["justification"] = _text(raw, "justification", LIMITS["text"])
        return cleaned
    if qtype == "multiple_choice":
        choices = raw.get("choices", [])
        allowed_ids = {o["id"] for o in question["options"]}
        if not isinstance(choices, list) or not set(choices) <= allowed_ids:
            raise InvalidAnswer(fields={"answer.choices": ["Pick from the options given."]})
        return {"choices": sorted(set(choices))}
    if qtype == "numeric":
        value = raw.get("value", "")
        if value in ("", None):
            return {"value": ""}
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation as error:
            raise InvalidAnswer(fields={"answer.value": ["Enter a number, e.g. 12.5."]}) from error
        if not number.is_finite() or abs(number) > Decimal("1e15"):
            raise InvalidAnswer(fields={"answer.value": ["Enter a finite number."]})
        return {"value": str(number)}
    if qtype == "short_text":
        return {"text": _text(raw, "text", LIMITS["short_text"])}
    if qtype == "rating":
        ratings = raw.get("ratings", {})
        scale = question["scale"]
        dimensions = {d["id"] for d in question["dimensions"]}
        if not isinstance(ratings, dict) or not set(ratings) <= dimensions:
            raise InvalidAnswer(fields={"answer.ratings": ["Rate only the dimensions given."]})
        cleaned_ratings = {}
        for dimension, value in ratings.items():
            if value in ("", None):
                continue
            try:
                number = int(value)
            except (TypeError, ValueError) as error:
                raise InvalidAnswer(
                    fields={f"answer.ratings.{dimension}": ["Pick a value."]}
                ) from error
            if not scale["min"] <= number <= scale["max"]:
                raise InvalidAnswer(
                    fields={
                        f"answer.ratings.{dimension}": [f"Pick {scale['min']} to {scale['max']}."]
                    }
                )
            cleaned_ratings[dimension] = number
        return {"ratings": cleaned_ratings}
    if qtype == "long_form":
        return {"text": _text(raw, "text", LIMITS["text"])}
    if qtype == "code":
        return {"code": _text(raw, "code", LIMITS["code"])}
    raise ValueError(f"Unknown question type {qtype!r}")


def normalise(text: str) -> str:
    """Case-fold, trim surrounding space and punctuation, and collapse inner runs of space."""
    text = re.sub(r"\s+", " ", text.casefold()).strip()
    return text.strip(" .,;:!?\"'`()[]")


def score_objective(
    question: dict[str, Any], answer: dict[str, Any] | None
) -> tuple[Decimal, dict[str, Any]]:
    """Score an objective question (or a pairwise choice): points earned and how."""
    full = Decimal(str(question["points"]))
    answer = answer or {}
    qtype = question["type"]
    if qtype == "single_choice":
        right = answer.get("choice") == question["answer"]
        return (full if right else Decimal(0)), {"right": right}
    if qtype == "multiple_choice":
        key = set(question["answer"])
        picked = set(answer.get("choices", []))
        hits, misses = len(picked & key), len(picked - key)
        share = max(Decimal(0), Decimal(hits - misses) / Decimal(len(key)))
        return points(full * share), {
            "right_picked": hits,
            "wrong_picked": misses,
            "right_total": len(key),
        }
    if qtype == "numeric":
        if answer.get("value") in ("", None):
            return Decimal(0), {"right": False, "answered": False}
        value = Decimal(answer["value"])
        gap = abs(value - Decimal(str(question["answer"])))
        right = gap <= Decimal(str(question.get("tolerance", 0)))
        return (full if right else Decimal(0)), {"right": right}
    if qtype == "short_text":
        given = normalise(answer.get("text", ""))
        accepted = {normalise(text) for text in question.get("accept", [])}
        right = bool(given) and (
            given in accepted
            or any(re.fullmatch(pattern, given) for pattern in question.get("patterns", []))
        )
        return (full if right else Decimal(0)), {"right": right}
    if qtype == "rating":
        credit = [Decimal(str(share)) for share in question.get("credit", [1, "0.5"])]
        ratings = answer.get("ratings", {})
        dimensions = question["dimensions"]
        share_each = full / len(dimensions)
        total = Decimal(0)
        detail = {}
        for dimension in dimensions:
            given = ratings.get(dimension["id"])
            distance = None if given is None else abs(int(given) - int(dimension["answer"]))
            share = (
                credit[distance] if distance is not None and distance < len(credit) else Decimal(0)
            )
            total += share_each * share
            detail[dimension["id"]] = {"distance": distance, "credit": str(share)}
        return points(total), detail
    if qtype == "pairwise":
        right = answer.get("choice") == question["answer"]
        return (points(question["choice_points"]) if right else Decimal(0)), {"choice_right": right}
    raise ValueError(f"{qtype} is not scored automatically")


def human_points(question: dict[str, Any]) -> Decimal:
    """The points a question leaves to human graders."""
    if question["type"] == "pairwise":
        return points(Decimal(str(question["points"])) - Decimal(str(question["choice_points"])))
    return points(question["points"])


def human_part_is_empty(question: dict[str, Any], answer: dict[str, Any] | None) -> bool:
    """True when there is nothing for a person to grade (no written answer at all)."""
    answer = answer or {}
    key = {"pairwise": "justification", "long_form": "text", "code": "code"}[question["type"]]
    return not str(answer.get(key, "")).strip()
