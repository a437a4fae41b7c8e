"""Fixed vocabularies of the contributor profile."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

import pycountry
from django.db import models


class EducationLevel(models.TextChoices):
    SECONDARY = "secondary", "Secondary school"
    ASSOCIATE = "associate", "Associate degree"
    BACHELOR = "bachelor", "Bachelor's degree"
    MASTER = "master", "Master's degree"
    DOCTORATE = "doctorate", "Doctorate (PhD, MD, JD, …)"
    OTHER = "other", "Other"


# Levels for which the application must list at least one degree with its field.
LEVELS_WITH_DEGREE = {
    EducationLevel.ASSOCIATE,
    EducationLevel.BACHELOR,
    EducationLevel.MASTER,
    EducationLevel.DOCTORATE,
}


class DegreeLevel(models.TextChoices):
    ASSOCIATE = "associate", "Associate"
    BACHELOR = "bachelor", "Bachelor's"
    MASTER = "master", "Master's"
    DOCTORATE = "doctorate", "Doctorate"
    PROFESSIONAL = "professional", "Professional (MD, JD, …)"
    OTHER = "other", "Other"


class CredentialKind(models.TextChoices):
    LAW = "law", "Law (bar admission)"
    FINANCE = "finance", "Finance (e.g. CFA, CPA)"
    MEDICINE = "medicine", "Medicine (medical licence)"


class Proficiency(models.TextChoices):
    NATIVE = "native", "Native"
    FLUENT = "fluent", "Fluent (C1-C2)"
    PROFESSIONAL = "professional", "Professional working (B2)"
    CONVERSATIONAL = "conversational", "Conversational (B1)"


PROGRAMMING_LANGUAGES = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "html": "HTML/CSS",
    "cpp": "C++",
    "c": "C",
    "csharp": "C#",
    "java": "Java",
    "kotlin": "Kotlin",
    "go": "Go",
    "rust": "Rust",
    "sql": "SQL",
    "php": "PHP",
    "ruby": "Ruby",
    "swift": "Swift",
    "r": "R",
    "bash": "Shell (Bash)",
}

EXPERTISE_AREAS = {
    "writing": "Writing and editing",
    "chatbot_evaluation": "Chatbot evaluation",
    "translation": "Translation and localisation",
    "software": "Software engineering",
    "data_science": "Data science",
    "mathematics": "Mathematics",
    "physics": "Physics",
    "chemistry": "Chemistry",
    "biology": "Biology",
    "law": "Law",
    "finance": "Finance and accounting",
    "medicine": "Medicine and health",
    "education": "Education",
    "humanities": "Humanities",
}


@cache
def spoken_languages() -> dict[str, str]:
    """ISO 639-1 codes and English names (184 languages), sorted by name."""
    names = {
        language.alpha_2: re.sub(r" \(.*\)$", "", language.name)
        for language in pycountry.languages
        if hasattr(language, "alpha_2")
    }
    return dict(sorted(names.items(), key=lambda item: item[1]))


@cache
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
