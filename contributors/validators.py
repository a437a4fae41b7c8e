from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from contributors import choices


def validate_time_zone(value: str) -> None:
    if value not in choices.time_zones():
        raise ValidationError(
            "%(value)s is not a known time zone; use an IANA name such as Europe/Berlin.",
            code="invalid_time_zone",
            params={"value": value},
        )


def validate_spoken_language(value: str) -> None:
    if value not in choices.spoken_languages():
        raise ValidationError(
            "%(value)s is not a known language code.",
            code="invalid_language",
            params={"value": value},
        )


@deconstructible
class CodeListValidator:
    """A list of distinct codes, each from a fixed vocabulary (choices.<vocabulary>)."""

    def __init__(self, vocabulary: str) -> None:
        self.vocabulary = vocabulary

    def __call__(self, value: Any) -> None:
        allowed: Iterable[str] = getattr(choices, self.vocabulary)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError("Expected a list of codes.", code="not_a_code_list")
        unknown = [item for item in value if item not in allowed]
        if unknown:
            raise ValidationError(
                "Unknown: %(unknown)s.", code="unknown_code", params={"unknown": ", ".join(unknown)}
            )
        if len(set(value)) != len(value):
            raise ValidationError("Each entry may appear only once.", code="duplicate_code")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CodeListValidator) and other.vocabulary == self.vocabulary

    def __hash__(self) -> int:
        return hash(self.vocabulary)
