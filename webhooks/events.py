"""Telling the company's webhooks that something happened: the one call the apps' services make.

`event_emit` / `events_emit` insert into the company's event outbox (`webhooks.models.Event`) inside the
caller's transaction, so an event exists exactly when its change was committed; after the commit a Celery
task turns it into signed deliveries. When no active subscription wants the event type, nothing is
written: the check and the insert are one statement, one per batch whatever its size (the rush path
persists its winners in batches and tells about all of them at once).

Payloads carry ids, states and times, never a student's name, address or answers: a receiver reads those
through the company API with a token of its own (scoped and audited), so the outbox and the delivery log
hold no personal data.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_redis import get_redis_connection

from saas.sql import sql_bound, table_in
from tenants.selectors import current_schema
from webhooks.models import EventType

__all__ = ["EventType", "dispatch_soon", "event_body", "event_emit", "events_emit", "events_emit_many"]

logger = logging.getLogger(__name__)
# A queued run that never starts (a lost message) stops suppressing kicks after this; the sweep runs meanwhile.
KICK_SECONDS = 60

_INSERT = """
INSERT INTO {events} (event_type, payload, created_at)
SELECT %s, body, %s FROM unnest(%s::text[]) AS body
WHERE EXISTS (SELECT 1 FROM {subscriptions} WHERE is_active AND events && %s::varchar[])
RETURNING id
"""


def _patterns(event_type: str) -> list[str]:
    """The subscription values that want this type: itself and its family's wildcard (`incident.*`)."""
    return [event_type, f"{event_type.split('.', 1)[0]}.*"]


def event_body(*, event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The JSON body a receiver gets (Standard Webhooks' recommended shape)."""
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def events_emit(*, event_type: str, items: Sequence[dict[str, Any]], schema: str | None = None) -> int:
    """Queue one event per item in a company's outbox (the current one unless `schema` names another,
    for a platform task writing to many companies without entering each); returns how many were written."""
    target = schema or current_schema()
    if not items or target == "public":
        return 0
    sql, params = _insert(event_type=event_type, items=items, schema=schema or "")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = len(cursor.fetchall())
    if written:
        transaction.on_commit(lambda: dispatch_soon(target))
    return written


def events_emit_many(*, event_type: str, items: dict[str, Sequence[dict[str, Any]]]) -> dict[str, int]:
    """events_emit for several companies (schema -> items) in one round trip; how many each got."""
    schemas = [schema for schema, found in items.items() if found and schema != "public"]
    if not schemas:
        return {}
    statements = [_insert(event_type=event_type, items=items[schema], schema=schema) for schema in schemas]
    written: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(sql_bound(sql, params) for sql, params in statements))
        for index, schema in enumerate(schemas):
            if index:
                cursor.nextset()
            written[schema] = len(cursor.fetchall())
    for schema, count in written.items():
        if count:
            transaction.on_commit(functools.partial(dispatch_soon, schema))
    return written


def _insert(*, event_type: str, items: Sequence[dict[str, Any]], schema: str) -> tuple[str, list[Any]]:
    """The outbox insert for these items (in `schema`'s tables when named, else the search path's)."""
    sql = _INSERT.format(
        events=table_in(schema, "webhooks_event"), subscriptions=table_in(schema, "webhooks_subscription")
    )
    now = timezone.now()
    bodies = [event_body(event_type=event_type, data=item, at=now) for item in items]
    return sql, [event_type, now, bodies, _patterns(event_type)]


def event_emit(*, event_type: str, data: dict[str, Any], schema: str | None = None) -> int:
    return events_emit(event_type=event_type, items=[data], schema=schema)


def _kick_key(schema: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:webhooks:kick:{schema}"


def kick_forget(schema: str) -> None:
    """Called by a run as it starts: a commit from now on queues the next run."""
    try:
        get_redis_connection("default").delete(_kick_key(schema))
    except Exception:  # noqa: BLE001 - without Redis every commit queues its own run
        pass


def dispatch_soon(schema: str) -> None:
    """Wake a worker for this company, once for many commits; if the broker is away, the sweep delivers.

    Under a booking rush every commit would queue a run; instead the first commit sets a key and queues
    one, later commits see the key and rely on that run, which clears the key before it reads the outbox
    (so a commit after that point queues the next run, and one before it is read by this one).
    """
    from webhooks.tasks import webhooks_dispatch

    try:
        if not get_redis_connection("default").set(_kick_key(schema), 1, nx=True, ex=KICK_SECONDS):
            return
    except Exception:  # noqa: BLE001 - no Redis: queue the run anyway
        pass
    try:
        webhooks_dispatch.delay(schema)
    except Exception:  # noqa: BLE001 - the committed outbox rows are the source of truth
        logger.warning("webhooks: dispatch not queued for %s (the sweep will deliver)", schema)
