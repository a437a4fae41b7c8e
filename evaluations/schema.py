"""Evaluation forms: the questions a project asks about each task, as a checked schema.

A form is `{"questions": [ ... ]}`. Every question has `name` (unique, [a-z0-9_]), `prompt`,
`help` (optional) and `required` (default true), and a `type`:

    rating        min, max, labels {value: text}, per_response (default true): a value per
                  response (or one for the whole task)
    preference    allow_tie (default false), strength (default false: a 1-3 "how much better")
                  needs a task with at least 2 responses
    ranking       every response in order, best first
    single_label  labels [..]
    multi_label   labels [..], min (default 0), max (default: all)
    free_text     min_length, max_length, role: "rationale" | "rewrite" (a rewrite is exported
                  as a prompt/completion pair for fine-tuning)
    spans         labels [..]: marks over a response's text: {response, start, end, label}
    code_review   severities [..] (default info, minor, major, critical): findings on the
                  task's code: {line, severity, comment}

A form that does not validate is refused with the path of each bad part.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)


def _storable(text: str) -> str:
    # PostgreSQL cannot hold a NUL in jsonb; the page's form editor would pass "\u0000" through.
    if "\x00" in text:
        raise ValueError("may not contain NUL characters")
    return text


Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=60), AfterValidator(_storable)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_storable)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuestionBase(Strict):
    name: Name
    prompt: Text
    help: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_storable)] = ""
    required: bool = True


def _unique(labels: list[str], what: str) -> None:
    if len(set(labels)) != len(labels):
        raise ValueError(f"{what} must be unique")


class Rating(QuestionBase):
    type: Literal["rating"]
    min: int = 1
    max: int = 7
    labels: dict[int, Label] = {}
    per_response: bool = True

    @model_validator(mode="after")
    def _scale(self) -> Rating:
        if not self.min < self.max <= self.min + 20:
            raise ValueError("needs min < max, at most 21 steps")
        if any(not self.min <= value <= self.max for value in self.labels):
            raise ValueError("labels must be on the scale")
        return self


class Preference(QuestionBase):
    type: Literal["preference"]
    allow_tie: bool = False
    strength: bool = False


class Ranking(QuestionBase):
    type: Literal["ranking"]


class SingleLabel(QuestionBase):
    type: Literal["single_label"]
    labels: Annotated[list[Label], Field(min_length=2, max_length=50)]

    @model_validator(mode="after")
    def _labels(self) -> SingleLabel:
        _unique(self.labels, "labels")
        return self


class MultiLabel(QuestionBase):
    type: Literal["multi_label"]
    labels: Annotated[list[Label], Field(min_length=1, max_length=50)]
    min: Annotated[int, Field(ge=0)] = 0
    max: int | None = None

    @model_validator(mode="after")
    def _bounds(self) -> MultiLabel:
        _unique(self.labels, "labels")
        top = self.max if self.max is not None else len(self.labels)
        if not self.min <= top <= len(self.labels):
            raise ValueError("needs 0 <= min <= max <= the number of labels")
        return self


class FreeText(QuestionBase):
    type: Literal["free_text"]
    min_length: Annotated[int, Field(ge=0, le=100_000)] = 0
    max_length: Annotated[int, Field(ge=1, le=100_000)] = 10_000
    role: Literal["rationale", "rewrite", "other"] = "rationale"

    @model_validator(mode="after")
    def _lengths(self) -> FreeText:
        if self.min_length > self.max_length:
            raise ValueError("min_length is above max_length")
        return self


class Spans(QuestionBase):
    type: Literal["spans"]
    labels: Annotated[list[Label], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _labels(self) -> Spans:
        _unique(self.labels, "labels")
        return self


class CodeReview(QuestionBase):
    type: Literal["code_review"]
    severities: Annotated[list[Label], Field(min_length=1, max_length=10)] = [
        "info",
        "minor",
        "major",
        "critical",
    ]

    @model_validator(mode="after")
    def _severities(self) -> CodeReview:
        _unique(self.severities, "severities")
        return self


Question = Annotated[
    Rating | Preference | Ranking | SingleLabel | MultiLabel | FreeText | Spans | CodeReview,
    Field(discriminator="type"),
]

NEEDS_RESPONSES = {"preference": 2, "ranking": 2, "spans": 1}


class Form(Strict):
    questions: Annotated[list[Question], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _names(self) -> Form:
        names = [question.name for question in self.questions]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"question names used twice: {duplicates}")
        return self

    def min_responses(self) -> int:
        """The fewest responses a task must have for this form to be answerable."""
        needs = [NEEDS_RESPONSES.get(q.type, 0) for q in self.questions]
        needs += [1 for q in self.questions if q.type == "rating" and q.per_response]
        return max(needs, default=0)

    def needs_code(self) -> bool:
        return any(q.type == "code_review" for q in self.questions)


class FormInvalid(ValueError):
    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {', '.join(msgs)}" for path, msgs in problems.items()))


def form_parse(data: Any) -> Form:
    """Check a form; FormInvalid names each bad part by its path (e.g. `questions.2.max`)."""
    try:
        return Form.model_validate(data)
    except ValidationError as error:
        problems: dict[str, list[str]] = {}
        for item in error.errors():
            location = [str(part) for part in item["loc"]]
            # pydantic names the union member after the index; the form itself does not.
            if (
                len(location) >= 3
                and location[0] == "questions"
                and location[2]
                in {
                    "rating",
                    "preference",
                    "ranking",
                    "single_label",
                    "multi_label",
                    "free_text",
                    "spans",
                    "code_review",
                }
            ):
                del location[2]
            path = ".".join(location) or "form"
            problems.setdefault(path, []).append(item["msg"].removeprefix("Value error, "))
        raise FormInvalid(problems) from error
