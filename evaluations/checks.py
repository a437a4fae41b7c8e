"""The automated checks' pure parts: rationale fingerprints, contradictions, gold comparison.

No database here: the services feed these the form, the answers and what they loaded.

Near-duplicate rationales are found with MinHash over word 3-shingles and locality-sensitive
banding: a rationale's 64 minimum hashes are cut into 16 bands of 4, each band hashed to a
bucket. Two rationales share a bucket with probability 1 − (1 − J⁴)¹⁶ for a Jaccard overlap J
(0.98 at J = 0.6, 0.00004 at J = 0.1), so only bucket-mates are compared: no pairwise scan.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

from evaluations.schema import Form

PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
SHINGLE = 3
_WORD = re.compile(r"\w+", re.UNICODE)
# Permutations h(x) = (a·x + b) mod P over 32-bit shingle hashes, P the largest prime below
# 2³²: a·x + b stays below 2⁶⁴, so the arithmetic is exact in unsigned 64-bit integers.
PRIME = 4_294_967_291
_SEEDS = np.random.default_rng(20261128).integers(1, PRIME, size=(2, PERMUTATIONS, 1))
_A = _SEEDS[0].astype(np.uint64)
_B = _SEEDS[1].astype(np.uint64)
_P = np.uint64(PRIME)


def rationale_text(form: Form, answers: dict[str, Any]) -> str:
    """The person's rationales (free-text answers with the rationale role), joined."""
    return "\n".join(
        answers[question.name]
        for question in form.questions
        if question.type == "free_text"
        and question.role == "rationale"
        and isinstance(answers.get(question.name), str)
    )


def short_rationales(form: Form, answers: dict[str, Any], least: int) -> dict[str, list[str]]:
    """Rationale answers shorter than `least` characters (stripped), by answer path."""
    return {
        f"answers.{question.name}": [
            f"Explain your judgement in at least {least} characters "
            f"(this has {len(answers.get(question.name, '').strip())})."
        ]
        for question in form.questions
        if question.type == "free_text"
        and question.role == "rationale"
        and len(str(answers.get(question.name, "")).strip()) < least
    }


def _shingles(text: str) -> np.ndarray:
    words = _WORD.findall(text.lower())
    if not words:
        return np.zeros(0, dtype=np.uint64)
    grams = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=4).digest(), "big")
            for gram in grams
        ),
        dtype=np.uint64,
        count=len(grams),
    )


def minhash(text: str) -> list[int] | None:
    """The MinHash signature of a text (None for a text without words)."""
    shingles = _shingles(text)
    if shingles.size == 0:
        return None
    hashed = (_A * shingles[None, :] + _B) % _P
    return [int(value) for value in hashed.min(axis=1)]


def buckets(signature: list[int]) -> list[int]:
    """The signature's band buckets, as signed 64-bit integers (one per band)."""
    out = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(repr(chunk).encode(), digest_size=8).digest()
        out.append(int.from_bytes(digest, "big", signed=True))
    return out


def similarity(first: list[int], second: list[int]) -> float:
    """The estimated Jaccard overlap of two signatures' texts."""
    return sum(a == b for a, b in zip(first, second, strict=True)) / PERMUTATIONS


def contradictions(form: Form, answers: dict[str, Any]) -> list[str]:
    """Answers of one form that contradict each other, in words.

    A preferred response that another response outrates on every per-response rating question,
    or a ranking whose best response is not the preferred one.
    """
    found: list[str] = []
    ratings = [
        answers[q.name]
        for q in form.questions
        if q.type == "rating" and q.per_response and isinstance(answers.get(q.name), dict)
    ]
    rankings = [
        (q.name, answers[q.name])
        for q in form.questions
        if q.type == "ranking" and isinstance(answers.get(q.name), list) and answers[q.name]
    ]
    for question in form.questions:
        answer = answers.get(question.name)
        if question.type != "preference" or not isinstance(answer, dict):
            continue
        chosen = answer.get("choice")
        if chosen in (None, "tie"):
            continue
        if ratings:
            others = {rid for rating in ratings for rid in rating if rid != chosen}
            for other in sorted(others):
                if all(
                    chosen in rating and other in rating and rating[other] > rating[chosen]
                    for rating in ratings
                ):
                    found.append(
                        f"{question.name} prefers {chosen}, but every rating puts {other} higher"
                    )
        for name, ranking in rankings:
            if ranking[0] != chosen:
                found.append(
                    f"{question.name} prefers {chosen}, but {name} ranks {ranking[0]} first"
                )
    return found


COMPARABLE = ("rating", "preference", "ranking", "single_label", "multi_label")


def gold_compare(
    form: Form, answers: dict[str, Any], gold: dict[str, Any], tolerances: dict[str, int]
) -> dict[str, bool]:
    """For each question the gold answer covers: whether the answer matches it.

    Ratings count as right within the question's tolerance (1 point unless set); a preference
    by its choice (not its strength); a ranking by its best response; labels exactly.
    """
    result: dict[str, bool] = {}
    for question in form.questions:
        name = question.name
        if name not in gold or question.type not in COMPARABLE:
            continue
        expected, given = gold[name], answers.get(name)
        if question.type == "rating":
            tolerance = tolerances.get(name, 1)
            if isinstance(expected, dict):
                result[name] = isinstance(given, dict) and all(
                    isinstance(given.get(rid), int) and abs(given[rid] - value) <= tolerance
                    for rid, value in expected.items()
                )
            else:
                result[name] = isinstance(given, int) and abs(given - expected) <= tolerance
        elif question.type == "preference":
            result[name] = isinstance(given, dict) and given.get("choice") == expected["choice"]
        elif question.type == "ranking":
            result[name] = isinstance(given, list) and bool(given) and given[0] == expected[0]
        elif question.type == "multi_label":
            result[name] = isinstance(given, list) and set(given) == set(expected)
        else:
            result[name] = given == expected
    return result
