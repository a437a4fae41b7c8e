"""Loading assessment content files into versioned rows."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from assessments.content import CONTENT_DIR, AssessmentContent, ContentError, content_parse
from assessments.errors import ContentInvalid
from assessments.models import Assessment

logger = logging.getLogger(__name__)


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _check_set(contents: list[tuple[Path, AssessmentContent]]) -> list[str]:
    problems = []
    slugs: dict[str, Path] = {}
    for path, content in contents:
        if content.slug in slugs:
            problems.append(
                f"{path.name}: slug {content.slug!r} is also used by {slugs[content.slug].name}"
            )
        slugs[content.slug] = path
    known = set(slugs) | set(Assessment.objects.values_list("slug", flat=True))
    for path, content in contents:
        for prerequisite in content.prerequisites:
            if prerequisite not in known:
                problems.append(f"{path.name}: prerequisite {prerequisite!r} is not an assessment")
    starters = [path.name for path, content in contents if content.kind == "starter"]
    if len(starters) > 1:
        problems.append(f"only one starter assessment may exist; found {', '.join(starters)}")
    return problems


def assessment_content_load(*, paths: list[Path] | None = None) -> LoadReport:
    """Load content files (all of assessments/content/ by default), all or nothing.

    A file whose (slug, version) is loaded already must be byte-for-byte the same content:
    changing a loaded version is refused, so attempts on it keep their questions and keys. A
    new version becomes the current one; attempts on older versions keep theirs. Running the
    load again changes nothing.
    """
    paths = sorted(CONTENT_DIR.glob("*.yaml")) if paths is None else paths
    problems: list[str] = []
    contents: list[tuple[Path, AssessmentContent]] = []
    for path in paths:
        try:
            content, _raw = content_parse(path)
        except ContentError as error:
            problems.extend(f"{path.name}: {problem}" for problem in error.problems)
        else:
            contents.append((path, content))
    problems.extend(_check_set(contents))
    if problems:
        raise ContentInvalid(problems)

    report = LoadReport()
    with transaction.atomic():
        for path, content in contents:
            data = content.model_dump(mode="json")
            digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
            label = f"{content.slug} v{content.version}"
            existing = (
                Assessment.objects.select_for_update()
                .filter(slug=content.slug, version=content.version)
                .first()
            )
            if existing is not None:
                if existing.content_sha256 != digest:
                    problems.append(
                        f"{path.name}: {label} is already loaded with other content; "
                        "give the changed file a new version number"
                    )
                else:
                    report.unchanged.append(label)
                    assessment = existing
            else:
                assessment = Assessment(
                    slug=content.slug,
                    version=content.version,
                    title=content.title,
                    kind=content.kind,
                    track=content.track,
                    summary=content.summary,
                    instructions=content.instructions,
                    time_limit_minutes=content.time_limit_minutes,
                    pass_mark=content.pass_mark,
                    grants=content.grants,
                    prerequisites=content.prerequisites,
                    max_attempts=content.retake.max_attempts,
                    cooldown_days=content.retake.cooldown_days,
                    grading_margin=content.grading.margin,
                    content=data,
                    content_sha256=digest,
                    is_current=False,
                )
                assessment.save()
                report.created.append(label)
            if not problems and not assessment.is_current:
                Assessment.objects.filter(slug=content.slug, is_current=True).update(
                    is_current=False
                )
                Assessment.objects.filter(pk=assessment.pk).update(is_current=True)
        if problems:
            raise ContentInvalid(problems)  # rolls the whole load back
    logger.info(
        "assessments.content_loaded",
        extra={"loaded": report.created, "unchanged_count": len(report.unchanged)},
    )
    return report
