"""The format of assessment content files, and their validation.

One YAML file per assessment in assessments/content/. A file is checked as a whole: every
problem is reported with the file, the question (by id, where there is one) and what is wrong,
and a file with any problem loads nothing. The format, by example:

    slug: starter                      # [a-z0-9-]; stable across versions
    version: 1                         # a new version never changes attempts on an old one
    title: Starter Assessment
    kind: starter                      # starter | specialist
    track: general                     # a qualification code (contributors/qualifications.py)
    summary: One line for the list.
    instructions: |                    # Markdown, shown before starting and atop the attempt
      ...
    time_limit_minutes: 60
    pass_mark: 70                      # percent of the points available in the attempt
    grants: [general]                  # qualifications granted on a pass
    prerequisites: []                  # slugs passed first; specialist ones imply `starter`
    retake: {max_attempts: 1, cooldown_days: 0}
    grading: {margin: 0.2}             # 2 human grades further apart than this share of the
                                       # item's points call a third grader
    sections:                          # pools; each attempt draws `draw` questions from each
      - key: compare
        title: Comparing responses
        draw: 3
        questions: [...]

Every question has `id` (unique in the file), `type`, `points` and `prompt` (Markdown), and may
have `context` (Markdown shown above the prompt: a conversation, an AI answer, code). By type:

    single_choice    options: [{id, text}], answer: <option id>
    multiple_choice  options: [{id, text}], answer: [<option id>, ...]
                     credit = max(0, (right options picked - wrong options picked) / right options)
    numeric          answer: <number>, tolerance: <absolute, >= 0>, unit: <optional label>
    short_text       accept: [strings] and/or patterns: [regular expressions]; answers are
                     compared after normalising (case, surrounding space and punctuation,
                     inner runs of space); patterns must match the whole normalised answer
    rating           response: <Markdown>, scale: {min, max, labels: {value: text}},
                     dimensions: [{id, label, answer}], credit: [1.0, 0.5] (share of a
                     dimension's points at distance 0, 1, ... from the key; further is 0)
    pairwise         responses: {a: <Markdown>, b: <Markdown>}, answer: a | b,
                     choice_points: <points for the right choice>, rubric: [{id, text, points}]
                     for the written justification (human-graded; sums to points - choice_points)
    long_form        rubric: [{id, text, points}] (human-graded; sums to points), min_words
    code             language: python, function: <name>, starter: <code>,
                     examples: [{args: [...], expected: ...}] (shown),
                     tests: [{args: [...], expected: ..., tolerance: <optional>}] (hidden; run
                     in the sandbox; credit = share of tests passed)

`answer`, `accept`, `patterns`, `rubric` points and `tests` are answer keys: they never leave
the server for a candidate.

Check files without a database: python -m assessments.content assessments/content/*.yaml
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from contributors.qualifications import qualification_is_known

CONTENT_DIR = Path(__file__).resolve().parent / "content"
SUPPORTED_CODE_LANGUAGES = ("python",)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20000)]
Points = Annotated[Decimal, Field(gt=0, le=1000, decimal_places=2)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(Strict):
    id: Ident
    text: Text


class Criterion(Strict):
    id: Ident
    text: Text
    points: Points


class QuestionBase(Strict):
    id: Ident
    points: Points
    prompt: Text
    context: str = ""

    def human_graded_points(self) -> Decimal:
        return Decimal(0)


def _options_unique(options: list[Option]) -> list[Option]:
    ids = [option.id for option in options]
    if len(set(ids)) != len(ids):
        raise ValueError("option ids must be unique")
    return options


def _rubric_sums(rubric: list[Criterion], total: Decimal, what: str) -> None:
    ids = [criterion.id for criterion in rubric]
    if len(set(ids)) != len(ids):
        raise ValueError("rubric criterion ids must be unique")
    found = sum((criterion.points for criterion in rubric), Decimal(0))
    if found != total:
        raise ValueError(f"rubric points add up to {found}, but {what} is {total}")


class SingleChoice(QuestionBase):
    type: Literal["single_choice"]
    options: Annotated[list[Option], Field(min_length=2, max_length=12)]
    answer: Ident

    @field_validator("options")
    @classmethod
    def _unique(cls, options: list[Option]) -> list[Option]:
        return _options_unique(options)

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> SingleChoice:
        if self.answer not in {option.id for option in self.options}:
            raise ValueError(f"answer {self.answer!r} is not one of the options")
        return self


class MultipleChoice(QuestionBase):
    type: Literal["multiple_choice"]
    options: Annotated[list[Option], Field(min_length=2, max_length=12)]
    answer: Annotated[list[Ident], Field(min_length=1)]

    @field_validator("options")
    @classmethod
    def _unique(cls, options: list[Option]) -> list[Option]:
        return _options_unique(options)

    @model_validator(mode="after")
    def _answers_are_options(self) -> MultipleChoice:
        unknown = set(self.answer) - {option.id for option in self.options}
        if unknown:
            raise ValueError(f"answer names unknown options: {sorted(unknown)}")
        if len(set(self.answer)) != len(self.answer):
            raise ValueError("answer lists an option twice")
        return self


class Numeric(QuestionBase):
    type: Literal["numeric"]
    answer: Decimal
    tolerance: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    unit: str = ""


class ShortText(QuestionBase):
    type: Literal["short_text"]
    accept: list[Annotated[str, StringConstraints(min_length=1)]] = []
    patterns: list[Annotated[str, StringConstraints(min_length=1)]] = []

    @model_validator(mode="after")
    def _has_a_key(self) -> ShortText:
        if not self.accept and not self.patterns:
            raise ValueError("give `accept` strings, `patterns`, or both")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"pattern {pattern!r} is not a regular expression: {error}"
                ) from error
        return self


class Scale(Strict):
    min: int
    max: int
    labels: dict[int, str] = {}

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if not self.min < self.max <= self.min + 10:
            raise ValueError("scale needs min < max, with at most 11 steps")
        if any(not self.min <= value <= self.max for value in self.labels):
            raise ValueError("scale labels must be on the scale")
        return self


class Dimension(Strict):
    id: Ident
    label: Text
    answer: int


class Rating(QuestionBase):
    type: Literal["rating"]
    response: Text
    scale: Scale
    dimensions: Annotated[list[Dimension], Field(min_length=1, max_length=8)]
    credit: Annotated[list[Annotated[Decimal, Field(ge=0, le=1)]], Field(min_length=1)] = [
        Decimal(1),
        Decimal("0.5"),
    ]

    @model_validator(mode="after")
    def _keys_on_scale(self) -> Rating:
        for dimension in self.dimensions:
            if not self.scale.min <= dimension.answer <= self.scale.max:
                raise ValueError(
                    f"dimension {dimension.id!r}: answer {dimension.answer} is off the scale"
                )
        if self.credit[0] != 1 or any(
            a < b for a, b in zip(self.credit, self.credit[1:], strict=False)
        ):
            raise ValueError("credit must start at 1 and never rise")
        return self


class Pairwise(QuestionBase):
    type: Literal["pairwise"]
    responses: dict[Literal["a", "b"], Text]
    answer: Literal["a", "b"]
    choice_points: Points
    rubric: Annotated[list[Criterion], Field(min_length=1)]

    @model_validator(mode="after")
    def _points_add_up(self) -> Pairwise:
        if set(self.responses) != {"a", "b"}:
            raise ValueError("responses must have exactly `a` and `b`")
        if self.choice_points >= self.points:
            raise ValueError("choice_points must leave points for the justification")
        _rubric_sums(self.rubric, self.points - self.choice_points, "points - choice_points")
        return self

    def human_graded_points(self) -> Decimal:
        return self.points - self.choice_points


class LongForm(QuestionBase):
    type: Literal["long_form"]
    rubric: Annotated[list[Criterion], Field(min_length=1)]
    min_words: Annotated[int, Field(ge=0, le=2000)] = 0

    @model_validator(mode="after")
    def _points_add_up(self) -> LongForm:
        _rubric_sums(self.rubric, self.points, "points")
        return self

    def human_graded_points(self) -> Decimal:
        return self.points


class CodeCase(Strict):
    args: list[Any]
    expected: Any
    tolerance: Annotated[float, Field(ge=0)] | None = None


class Code(QuestionBase):
    type: Literal["code"]
    language: Literal["python"]
    function: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    starter: Text
    examples: list[CodeCase] = []
    tests: Annotated[list[CodeCase], Field(min_length=1, max_length=200)]


Question = Annotated[
    SingleChoice | MultipleChoice | Numeric | ShortText | Rating | Pairwise | LongForm | Code,
    Field(discriminator="type"),
]


class Section(Strict):
    key: Ident
    title: Text
    draw: Annotated[int, Field(ge=1)]
    questions: Annotated[list[Question], Field(min_length=1)]

    @model_validator(mode="after")
    def _enough_questions(self) -> Section:
        if self.draw > len(self.questions):
            raise ValueError(f"draws {self.draw} questions from a pool of {len(self.questions)}")
        return self


class Retake(Strict):
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 1
    cooldown_days: Annotated[int, Field(ge=0, le=365)] = 0


class Grading(Strict):
    margin: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.2")


class AssessmentContent(Strict):
    slug: Slug
    version: Annotated[int, Field(ge=1)]
    title: Text
    kind: Literal["starter", "specialist"]
    track: str
    summary: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    instructions: Text
    time_limit_minutes: Annotated[int, Field(ge=5, le=240)]
    pass_mark: Annotated[Decimal, Field(gt=0, le=100)]
    grants: Annotated[list[str], Field(min_length=1)]
    prerequisites: list[Slug] = []
    retake: Retake = Retake()
    grading: Grading = Grading()
    sections: Annotated[list[Section], Field(min_length=1)]

    @field_validator("track")
    @classmethod
    def _known_track(cls, track: str) -> str:
        if not qualification_is_known(track):
            raise ValueError(f"unknown track {track!r}")
        return track

    @field_validator("grants")
    @classmethod
    def _known_qualifications(cls, grants: list[str]) -> list[str]:
        unknown = [code for code in grants if not qualification_is_known(code)]
        if unknown:
            raise ValueError(f"unknown qualifications {unknown}")
        return grants

    @model_validator(mode="after")
    def _consistent(self) -> AssessmentContent:
        ids = [question.id for section in self.sections for question in section.questions]
        duplicates = sorted({qid for qid in ids if ids.count(qid) > 1})
        if duplicates:
            raise ValueError(f"question ids used twice: {duplicates}")
        keys = [section.key for section in self.sections]
        if len(set(keys)) != len(keys):
            raise ValueError("section keys must be unique")
        if not any(section.draw < len(section.questions) for section in self.sections):
            raise ValueError("the pools must hold more questions than an attempt draws")
        if self.kind == "starter":
            if self.retake.max_attempts != 1:
                raise ValueError(
                    "the Starter Assessment is taken once: retake.max_attempts must be 1"
                )
            if self.prerequisites:
                raise ValueError("the Starter Assessment has no prerequisites")
        elif self.slug == "starter" or "starter" in self.prerequisites:
            raise ValueError("a specialist assessment implies the starter; do not list it")
        return self

    def questions(self) -> dict[str, Any]:
        return {
            question.id: question for section in self.sections for question in section.questions
        }


class ContentError(Exception):
    """A content file is malformed; `problems` lists each problem with its place."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path.name}: " + "; ".join(problems))


def _place(content: dict[str, Any], location: tuple[Any, ...]) -> str:
    """Name a place in a content file, by its question id where it has one."""
    if len(location) >= 4 and location[0] == "sections" and location[2] == "questions":
        try:
            question = content["sections"][location[1]]["questions"][location[3]]
        except (KeyError, IndexError, TypeError):
            question = None
        if isinstance(question, dict):
            rest = [str(part) for part in location[4:]]
            if rest and rest[0] == question.get("type"):
                rest = rest[1:]  # pydantic names the union member; the file does not
            where = f"question {question.get('id', '?')!r}"
            return where + (f", {'.'.join(rest)}" if rest else "")
    return ".".join(str(part) for part in location) or "file"


def content_parse(path: Path) -> tuple[AssessmentContent, dict[str, Any]]:
    """Read and check one content file; returns the checked model and the raw mapping."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ContentError(path, [f"not readable YAML: {error}"]) from error
    if not isinstance(raw, dict):
        raise ContentError(path, ["the file must hold one mapping (slug, version, …)"])
    try:
        return AssessmentContent.model_validate(raw), raw
    except ValidationError as error:
        problems = [f"{_place(raw, tuple(item['loc']))}: {item['msg']}" for item in error.errors()]
        raise ContentError(path, problems) from error


def main(paths: list[str]) -> int:
    failed = 0
    for name in paths:
        try:
            content, _raw = content_parse(Path(name))
        except ContentError as error:
            failed += 1
            print(f"{name}: INVALID")  # noqa: T201
            for problem in error.problems:
                print(f"  - {problem}")  # noqa: T201
        else:
            count = sum(len(section.questions) for section in content.sections)
            drawn = sum(section.draw for section in content.sections)
            summary = f"{content.slug} v{content.version}, {count} questions, {drawn} drawn"
            print(f"{name}: ok ({summary})")  # noqa: T201
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
