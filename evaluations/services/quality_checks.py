"""The automated checks on submit, per the project's quality settings.

Each check passes, flags the submission for review, or (when the project says so) blocks it
with the reason. Blocking raises before anything is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from common.errors import InvalidInput
from evaluations.checks import (
    BANDS,
    buckets,
    contradictions,
    gold_compare,
    minhash,
    rationale_text,
    short_rationales,
    similarity,
)
from evaluations.models import (
    Assignment,
    GoldAnswer,
    QualitySettings,
    Submission,
)
from evaluations.schema import Form

Action = QualitySettings.Action


@dataclass
class CheckOutcome:
    checks: dict[str, str] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    blocked: dict[str, list[str]] = field(default_factory=dict)
    gold_correct: bool | None = None
    signature: list[int] | None = None

    def record(self, check: str, action: str, detail: str, where: str = "answers") -> None:
        if action == Action.BLOCK:
            self.checks[check] = "blocked"
            self.blocked.setdefault(where, []).append(detail)
        else:
            self.checks[check] = "flagged"
            self.flags.append({"check": check, "detail": detail})


CANDIDATES = 100  # band matches looked at, at most: enough to find a copy, bounded per submit
# Any of the signature's band buckets, in the project, from another person. No DISTINCT or ORDER
# BY: the LIMIT then stops the index scan early, however many submissions of the project share
# a bucket; duplicates are dropped in Python. Raw SQL, since the ORM's OR of 16 pairs cost more
# to build than the query takes to run.
_CANDIDATES_SQL = (
    "SELECT submission_id FROM evaluations_rationaleband "  # noqa: S608 - constants only
    "WHERE project_id = %s AND contributor_id <> %s AND ("
    + " OR ".join(["(band = %s AND bucket = %s)"] * BANDS)
    + f") LIMIT {CANDIDATES}"
)
_BAND_INSERT_SQL = (
    "INSERT INTO evaluations_rationaleband (project_id, band, bucket, submission_id, "
    "contributor_id) VALUES (%s, %s, %s, %s, %s)"
)


def _near_duplicate(
    *, signature: list[int], project_id: int, contributor_id: int, threshold: float
) -> tuple[int, float] | None:
    """The most similar rationale of another contributor of the project, if one is at least
    `threshold` alike: only submissions sharing a band bucket are compared."""
    params: list[int] = [project_id, contributor_id]
    for band, bucket in enumerate(buckets(signature)):
        params += [band, bucket]
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, params)
        candidates = {row[0] for row in cursor.fetchall()}
    if not candidates:
        return None
    best: tuple[int, float] | None = None
    for other_id, other in Submission.objects.filter(pk__in=candidates).values_list(
        "pk", "rationale_signature"
    ):
        if other is None:
            continue
        alike = similarity(signature, other)
        if alike >= threshold and (best is None or alike > best[1]):
            best = (other_id, alike)
    return best


def checks_run(
    *,
    assignment: Assignment,
    form: Form,
    answers: dict[str, Any],
    quality: QualitySettings,
) -> CheckOutcome:
    """Run the project's checks on a submission's answers; raises when one blocks."""
    outcome = CheckOutcome()
    least = quality.min_active_seconds
    if least and assignment.active_seconds < least:
        outcome.record(
            "min_active_time",
            quality.min_active_action,
            f"{assignment.active_seconds} s of active work; this project expects at least "
            f"{least} s per task.",
            where="active_seconds",
        )
    elif least:
        outcome.checks["min_active_time"] = "passed"
    if quality.min_rationale_chars:
        short = short_rationales(form, answers, quality.min_rationale_chars)
        if short and quality.rationale_action == Action.BLOCK:
            outcome.checks["rationale_length"] = "blocked"
            for path, messages in short.items():
                outcome.blocked.setdefault(path, []).extend(messages)
        elif short:
            outcome.record(
                "rationale_length",
                Action.FLAG,
                f"Rationale shorter than {quality.min_rationale_chars} characters.",
            )
        else:
            outcome.checks["rationale_length"] = "passed"
    if quality.contradiction_action != Action.OFF:
        found = contradictions(form, answers)
        for detail in found:
            outcome.record("contradiction", quality.contradiction_action, detail)
        if not found:
            outcome.checks["contradiction"] = "passed"
    if assignment.task.is_gold:
        gold = GoldAnswer.objects.filter(task_id=assignment.task_id).first()
        if gold is not None:
            right = gold_compare(form, answers, gold.answers, gold.tolerances)
            outcome.gold_correct = all(right.values()) if right else None
            if outcome.gold_correct is False and quality.gold_action != Action.OFF:
                wrong = ", ".join(name for name, ok in right.items() if not ok)
                outcome.record("gold", quality.gold_action, f"Differs from the expected: {wrong}.")
            elif outcome.gold_correct:
                outcome.checks["gold"] = "passed"
    text = rationale_text(form, answers)
    outcome.signature = minhash(text) if text else None
    if quality.duplicate_action != Action.OFF and outcome.signature is not None:
        copy = _near_duplicate(
            signature=outcome.signature,
            project_id=assignment.project_id,
            contributor_id=assignment.contributor_id,
            threshold=quality.duplicate_similarity,
        )
        if copy is not None:
            outcome.record(
                "near_duplicate",
                quality.duplicate_action,
                f"The rationale is about {copy[1]:.0%} the same as another contributor's "
                f"(submission {copy[0]})."
                if quality.duplicate_action == Action.FLAG
                else "The rationale is nearly the same as another contributor's; write your own.",
            )
        else:
            outcome.checks["near_duplicate"] = "passed"
    if outcome.blocked:
        raise InvalidInput(
            "The submission did not pass this project's checks: "
            + "; ".join(message for messages in outcome.blocked.values() for message in messages),
            fields=outcome.blocked,
        )
    return outcome


def bands_record(*, submission: Submission) -> None:
    """Index a submission's rationale signature for later near-duplicate lookups."""
    if submission.rationale_signature is None:
        return
    rows = [
        (submission.project_id, band, bucket, submission.pk, submission.contributor_id)
        for band, bucket in enumerate(buckets(submission.rationale_signature))
    ]
    with connection.cursor() as cursor:
        cursor.executemany(_BAND_INSERT_SQL, rows)
