"""Qualifications, the tracks they belong to and the tier each opens (DESIGN.md).

A qualification code is a track: `general`, `language:<ISO 639-1>`, `programming:<language>`,
a science (`mathematics`, `physics`, `biology`, `chemistry`) or a profession (`law`,
`finance`, `medicine`). Assessments grant them; projects require them.
"""

from __future__ import annotations

from collections.abc import Callable

from contributors.choices import PROGRAMMING_LANGUAGES, spoken_languages

SCIENCES = {
    "mathematics": "Mathematics",
    "physics": "Physics",
    "biology": "Biology",
    "chemistry": "Chemistry",
}
PROFESSIONS = {"law": "Law", "finance": "Finance", "medicine": "Medicine"}

TIERS = {
    "general": "General",
    "multilingual": "Multilingual",
    "coding": "Coding",
    "stem": "STEM",
    "professional": "Professional",
}


def qualification_is_known(code: str) -> bool:
    kind, _, rest = code.partition(":")
    if kind == "language":
        return rest in spoken_languages()
    if kind == "programming":
        return rest in PROGRAMMING_LANGUAGES
    return not rest and (code == "general" or code in SCIENCES or code in PROFESSIONS)


def qualification_label(code: str) -> str:
    kind, _, rest = code.partition(":")
    if kind == "language":
        return f"{spoken_languages().get(rest, rest)} language"
    if kind == "programming":
        return f"{PROGRAMMING_LANGUAGES.get(rest, rest)} programming"
    if code == "general":
        return "General evaluation"
    return SCIENCES.get(code) or PROFESSIONS.get(code) or code


def tier_for_qualification(code: str) -> str:
    """The tier a qualification opens (a professional one also needs a declared licence)."""
    kind = code.partition(":")[0]
    if kind == "language":
        return "multilingual"
    if kind == "programming":
        return "coding"
    if code in SCIENCES:
        return "stem"
    if code in PROFESSIONS:
        return "professional"
    return "general"


# Apps that grant qualifications say how (assessments registers one from its AppConfig.ready):
# a function from qualification codes to {code: {"title": ..., "url": ...}} of what unlocks it.
UnlockProvider = Callable[[set[str]], dict[str, dict[str, str]]]
_unlock_providers: list[UnlockProvider] = []


def unlock_provider(provider: UnlockProvider) -> UnlockProvider:
    """Register a provider of 'how to get this qualification' hints."""
    if provider not in _unlock_providers:
        _unlock_providers.append(provider)
    return provider


def unlock_hints(codes: set[str]) -> dict[str, dict[str, str]]:
    """For each code, what would grant it (an assessment's title and page), where known."""
    hints: dict[str, dict[str, str]] = {}
    for provider in _unlock_providers:
        for code, hint in provider(codes).items():
            hints.setdefault(code, hint)
    return hints
