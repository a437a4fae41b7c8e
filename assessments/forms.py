"""Page input of assessments: answers from the attempt page, grades from the grading page."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict


def answer_from_post(question: dict[str, Any], data: QueryDict) -> dict[str, Any]:
    """Read one question's answer from its form on the attempt page (shape only)."""
    qtype = question["type"]
    if qtype == "single_choice":
        return {"choice": data.get("choice", "")}
    if qtype == "pairwise":
        return {"choice": data.get("choice", ""), "justification": data.get("justification", "")}
    if qtype == "multiple_choice":
        return {"choices": data.getlist("choices")}
    if qtype == "numeric":
        return {"value": data.get("value", "")}
    if qtype in ("short_text", "long_form"):
        return {"text": data.get("text", "")}
    if qtype == "rating":
        return {
            "ratings": {d["id"]: data.get(f"rating-{d['id']}", "") for d in question["dimensions"]}
        }
    if qtype == "code":
        return {"code": data.get("code", "")}
    raise ValueError(f"Unknown question type {qtype!r}")


def criteria_from_post(rubric: list[dict[str, Any]], data: QueryDict) -> dict[str, str]:
    return {criterion["id"]: data.get(f"criterion-{criterion['id']}", "") for criterion in rubric}
