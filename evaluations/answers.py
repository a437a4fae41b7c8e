"""Checking a submission's answers against its form version and its task.

Answers are keyed by question name; by type:

    rating        {response_id: int} (per response) or int
    preference    {"choice": response_id | "tie", "strength": 1-3 (when the form asks)}
    ranking       [response_id, ...]  every response once, best first
    single_label  "label"
    multi_label   ["label", ...]
    free_text     "text"
    spans         [{"response": id, "start": int, "end": int, "label": "label"}, ...]
    code_review   [{"line": int, "severity": "severity", "comment": "text"}, ...]

Every problem is reported under `answers.<question>` (and `.<index>` inside lists).
"""

from __future__ import annotations

from typing import Any

from evaluations.schema import Form

Problems = dict[str, list[str]]


def _add(problems: Problems, path: str, message: str) -> None:
    problems.setdefault(path, []).append(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def answers_check(
    *, form: Form, responses: list[dict[str, Any]], code: str, answers: Any, partial: bool = False
) -> tuple[dict[str, Any], Problems]:
    """Return (clean answers, problems). With `partial`, missing answers are not problems
    (a draft); shapes and values still are."""
    problems: Problems = {}
    if not isinstance(answers, dict):
        return {}, {"answers": ["Expected an object of answers by question name."]}
    known = {question.name for question in form.questions}
    for name in sorted(set(answers) - known):
        _add(problems, f"answers.{name}", "Not a question of this form.")
    texts = {response["id"]: response["text"] for response in responses}
    ids = list(texts)
    code_lines = len(code.splitlines())
    clean: dict[str, Any] = {}
    for question in form.questions:
        path = f"answers.{question.name}"
        value = answers.get(question.name)
        if value in (None, "", [], {}):
            if question.required and not partial:
                _add(problems, path, "This question needs an answer.")
            continue
        kind = question.type
        if kind == "rating":
            low, high = question.min, question.max

            def on_scale(v: Any, where: str, low: int = low, high: int = high) -> None:
                if not _is_int(v) or not low <= v <= high:
                    _add(problems, where, f"Rate from {low} to {high}.")

            if question.per_response:
                if not isinstance(value, dict):
                    _add(problems, path, "Rate each response: {response id: value}.")
                    continue
                for rid, rating in value.items():
                    if rid not in texts:
                        _add(problems, f"{path}.{rid}", "Not a response of this task.")
                    else:
                        on_scale(rating, f"{path}.{rid}")
                missing = [rid for rid in ids if rid not in value]
                if missing and not partial and question.required:
                    _add(problems, path, f"Rate every response; missing {', '.join(missing)}.")
            else:
                on_scale(value, path)
        elif kind == "preference":
            if len(ids) < 2:
                _add(problems, path, "A preference needs a task with at least two responses.")
                continue
            if not isinstance(value, dict):
                _add(problems, path, 'Expected {"choice": response id or "tie"}.')
                continue
            choice = value.get("choice")
            if choice == "tie" and not question.allow_tie:
                _add(problems, f"{path}.choice", "Ties are not allowed here: choose one response.")
            elif choice != "tie" and choice not in texts:
                _add(problems, f"{path}.choice", "Choose one of the task's responses.")
            strength = value.get("strength")
            if (
                question.strength
                and choice != "tie"
                and not partial
                and (not _is_int(strength) or not 1 <= strength <= 3)
            ):
                _add(problems, f"{path}.strength", "Say how much better: 1 (slightly) to 3 (much).")
            value = {"choice": choice, "strength": strength if question.strength else None}
        elif kind == "ranking":
            if not isinstance(value, list) or sorted(map(str, value)) != sorted(ids):
                _add(problems, path, "Rank every response exactly once.")
        elif kind == "single_label":
            if value not in question.labels:
                _add(
                    problems,
                    path,
                    f"Unknown label {value!r}; choose one of: {', '.join(question.labels)}.",
                )
        elif kind == "multi_label":
            if not isinstance(value, list):
                _add(problems, path, "Expected a list of labels.")
                continue
            unknown = [label for label in value if label not in question.labels]
            if unknown:
                _add(problems, path, f"Unknown label(s): {', '.join(map(str, unknown))}.")
            top = question.max if question.max is not None else len(question.labels)
            if len(set(value)) != len(value) or not question.min <= len(value) <= top:
                _add(problems, path, f"Pick {question.min} to {top} different labels.")
        elif kind == "free_text":
            if not isinstance(value, str) or "\x00" in value:
                _add(problems, path, "Expected text.")
                continue
            length = len(value.strip())
            if length > question.max_length:
                _add(
                    problems,
                    path,
                    f"Use at most {question.max_length} characters (this has {length}).",
                )
            elif length < question.min_length and not partial:
                _add(
                    problems,
                    path,
                    f"Write at least {question.min_length} characters (this has {length}).",
                )
        elif kind == "spans":
            if not isinstance(value, list):
                _add(problems, path, "Expected a list of marked spans.")
                continue
            for index, span in enumerate(value):
                where = f"{path}.{index}"
                if not isinstance(span, dict) or span.get("response") not in texts:
                    _add(problems, where, "Mark a span of one of the task's responses.")
                    continue
                start, end = span.get("start"), span.get("end")
                size = len(texts[span["response"]])
                if not (_is_int(start) and _is_int(end) and 0 <= start < end <= size):
                    _add(
                        problems,
                        where,
                        f"The span must lie inside the response's text (0 to {size}).",
                    )
                if span.get("label") not in question.labels:
                    _add(problems, where, f"Unknown label {span.get('label')!r}.")
        elif kind == "code_review":
            if not isinstance(value, list):
                _add(problems, path, "Expected a list of findings.")
                continue
            for index, finding in enumerate(value):
                where = f"{path}.{index}"
                if not isinstance(finding, dict):
                    _add(problems, where, "Expected {line, severity, comment}.")
                    continue
                line = finding.get("line")
                if not _is_int(line) or not 1 <= line <= max(1, code_lines):
                    _add(
                        problems,
                        where,
                        f"The line must be within the code (1 to {max(1, code_lines)}).",
                    )
                if finding.get("severity") not in question.severities:
                    _add(
                        problems,
                        where,
                        f"Severity must be one of: {', '.join(question.severities)}.",
                    )
                if not str(finding.get("comment", "")).strip():
                    _add(problems, where, "Say what is wrong.")
        clean[question.name] = value
    return clean, problems


def prelabel_usage(
    *, answers: dict[str, Any], prelabels: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """For each pre-labelled question: was the suggestion kept, changed, or left unanswered?"""
    usage = {}
    for question, label in prelabels.items():
        if question not in answers:
            usage[question] = "unanswered"
        else:
            usage[question] = "kept" if answers[question] == label["value"] else "changed"
    return usage
