from __future__ import annotations

from typing import Any

from assessments.models import Attempt, AttemptItem, ScoringEvent


def trail(
    attempt: Attempt,
    kind: str,
    *,
    item: AttemptItem | None = None,
    actor: Any = None,
    **detail: Any,
) -> ScoringEvent:
    """Append one step to an attempt's scoring trail."""
    return ScoringEvent.objects.create(
        attempt=attempt, item=item, kind=kind, actor=actor, detail=detail
    )
