"""Reading the workspace's form: each question's fields become the answers the services check."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import QueryDict

from common.text import unstorable_text
from evaluations.schema import Form


def _int(value: str | None) -> int | str | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        return value  # left for the answer check to name


def answers_from_post(*, form: Form, response_ids: list[str], data: QueryDict) -> dict[str, Any]:
    """The answers in a workspace form post (fields are named `q-<question>[-<part>]`)."""
    answers: dict[str, Any] = {}
    for question in form.questions:
        key = f"q-{question.name}"
        kind = question.type
        if kind == "rating" and question.per_response:
            rated = {rid: _int(data.get(f"{key}-{rid}")) for rid in response_ids}
            answers[question.name] = {
                rid: value for rid, value in rated.items() if value is not None
            }
        elif kind == "rating":
            answers[question.name] = _int(data.get(key))
        elif kind == "preference":
            choice = data.get(key) or None
            answers[question.name] = (
                {"choice": choice, "strength": _int(data.get(f"{key}-strength"))}
                if choice
                else None
            )
        elif kind == "ranking":
            positions = {rid: _int(data.get(f"{key}-{rid}")) for rid in response_ids}
            if all(isinstance(position, int) for position in positions.values()):
                ordered = sorted(positions, key=lambda rid: positions[rid])
                answers[question.name] = (
                    ordered if len(set(positions.values())) == len(ordered) else ["duplicate"]
                )
            else:
                answers[question.name] = None
        elif kind == "single_label":
            answers[question.name] = data.get(key) or None
        elif kind == "multi_label":
            answers[question.name] = data.getlist(key)
        elif kind == "free_text":
            answers[question.name] = data.get(key, "")
        elif kind in ("spans", "code_review"):
            raw = data.get(key, "") or "[]"
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = raw
            # A "\u0000" inside is a NUL once parsed, which no database text holds: keep the
            # raw text then, for the answer check to refuse.
            answers[question.name] = raw if unstorable_text(parsed) else parsed
    return {name: value for name, value in answers.items() if value not in (None, "", [], {})}
