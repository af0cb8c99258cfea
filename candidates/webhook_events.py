"""What the company's webhooks hear from candidates (ids and the names of what changed, no personal data)."""

from __future__ import annotations

from collections.abc import Iterable

from webhooks.events import EventType, events_emit


def candidates_created_emit(*, candidate_ids: Iterable[int], source: str) -> int:
    return events_emit(
        event_type=EventType.CANDIDATE_CREATED,
        items=[{"candidate_id": candidate_id, "source": source} for candidate_id in candidate_ids],
    )


def candidate_updated_emit(*, candidate_ids: Iterable[int], changed: list[str]) -> int:
    return events_emit(
        event_type=EventType.CANDIDATE_UPDATED,
        items=[{"candidate_id": candidate_id, "changed": changed} for candidate_id in candidate_ids],
    )
