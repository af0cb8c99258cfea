"""Ending a student's rush passes: at sign-out, when their links are revoked, when their rank changes.

The revocation is written to PostgreSQL (booking.RushPassRevocation, in the caller's transaction) and, once
committed, copied to Redis, where the rush gate checks it in the same Lua call that claims the seat. When
Redis is away the rush path asks PostgreSQL instead (`rush_pass_revoked`), so a revoked pass never books.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from booking.clients import REDIS_ERRORS, counter_client
from booking.keys import revoked_key
from booking.models import RushPassRevocation
from booking.rush.passes import STUDENT_SECONDS
from tenants.selectors import current_schema

logger = logging.getLogger(__name__)


def rush_passes_revoke(*, candidate_ids: Sequence[int], now: datetime | None = None) -> None:
    """Every rush pass these students hold stops working (a fresh one comes with their next My Page visit)."""
    if not candidate_ids:
        return
    now = now or timezone.now()
    RushPassRevocation.objects.bulk_create(
        [RushPassRevocation(candidate_id=pk, revoked_at=now) for pk in candidate_ids],
        update_conflicts=True,
        unique_fields=["candidate"],
        update_fields=["revoked_at"],
        batch_size=2000,
    )
    schema = current_schema()
    ids = list(candidate_ids)
    at = int(now.timestamp())
    transaction.on_commit(lambda: _copy_to_redis(schema=schema, candidate_ids=ids, at=at))


def _copy_to_redis(*, schema: str, candidate_ids: list[int], at: int) -> None:
    key = revoked_key(schema=schema)
    try:
        pipe = counter_client().pipeline(transaction=False)
        for start in range(0, len(candidate_ids), 1000):
            pipe.hset(key, mapping={str(pk): at for pk in candidate_ids[start : start + 1000]})
        pipe.expire(key, STUDENT_SECONDS + 60)
        pipe.execute()
    except REDIS_ERRORS:
        # PostgreSQL has it; the gate cannot see it, so the rush path's PostgreSQL fallback is what holds.
        logger.warning("rush: a pass revocation could not be copied to redis")


def rush_pass_revoked(*, candidate_id: int, issued_at: int) -> bool:
    """Whether the pass issued at `issued_at` was revoked since: Redis first, PostgreSQL when Redis is away."""
    try:
        found = counter_client().hget(revoked_key(schema=current_schema()), str(candidate_id))
    except REDIS_ERRORS:
        return rush_pass_revoked_in_db(candidate_id=candidate_id, issued_at=issued_at)
    return revoked_after(found, issued_at=issued_at)


def revoked_after(found: bytes | str | int | None, *, issued_at: int) -> bool:
    """Whether Redis's revocation entry (the revocation second, or None) ends a pass issued at `issued_at`."""
    return found is not None and int(found) >= issued_at


def rush_pass_revoked_in_db(*, candidate_id: int, issued_at: int) -> bool:
    """The same question asked of PostgreSQL (inside the company's schema), for when Redis is away."""
    return RushPassRevocation.objects.filter(
        candidate_id=candidate_id, revoked_at__gte=datetime.fromtimestamp(issued_at, UTC)
    ).exists()
