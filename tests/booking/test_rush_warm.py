"""Seminars about to open: announced by the seminar services, made ready in each rush process ahead."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.clients import counter_client
from booking.keys import openings_key
from booking.rush import pages
from booking.rush.openings import openings_due
from booking.rush.state import seminar_state_cached, seminar_state_forget
from booking.rush.warm import COUNTERS_AHEAD_SECONDS, Warmer
from booking.seatcounter import SeatCounter
from booking.services.seminars import rank_rules_set, seminar_create, seminar_update, slot_create
from tenants.selectors import host_cache_clear, tenant_for_host_known
from tests.booking.conftest import rush_seminar_remove


@pytest.fixture
def opening(tenants, committed):
    """acme's seminar opening in a minute, with one slot of seats for A and the pool; rank B opens later."""
    acme = tenants["acme"]
    opens_at = timezone.now() + timedelta(seconds=60)
    with schema_context(acme.schema):
        seminar = seminar_create(title="3月1日 会社説明会", opens_at=opens_at)
        start = timezone.now() + timedelta(days=30)
        slot_create(
            seminar=seminar,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=4,
            quotas={"A": 2, "*": 2},
        )
        rank_rules_set(seminar=seminar, rules={"B": (True, opens_at + timedelta(days=1))})
    seminar_state_forget()
    host_cache_clear()
    yield acme, seminar, opens_at
    counter_client().zrem(openings_key(), f"{acme.schema}:{seminar.pk}")
    rush_seminar_remove(schema=acme.schema, seminar=seminar)
    seminar_state_forget()
    host_cache_clear()
    connection.set_schema_to_public()


def _due(schema: str, seminar_id: int) -> list[float]:
    now = time.time()
    return [
        at for s, pk, at in openings_due(now=now, ahead=3600, behind=3600) if (s, pk) == (schema, seminar_id)
    ]


def test_the_services_announce_the_earliest_future_opening(opening):
    acme, seminar, opens_at = opening
    assert _due(acme.schema, seminar.pk) == [pytest.approx(opens_at.timestamp(), abs=0.01)]
    later = opens_at + timedelta(minutes=5)
    with schema_context(acme.schema):
        seminar_update(seminar=seminar, opens_at=later)
    assert _due(acme.schema, seminar.pk) == [pytest.approx(later.timestamp(), abs=0.01)]
    # A rank opening before the seminar's own time brings the announcement forward.
    sooner = opens_at - timedelta(seconds=30)
    with schema_context(acme.schema):
        rank_rules_set(seminar=seminar, rules={"B": (True, sooner)})
    assert _due(acme.schema, seminar.pk) == [pytest.approx(sooner.timestamp(), abs=0.01)]
    # No future opening any more (opened already): taken off the list.
    with schema_context(acme.schema):
        rank_rules_set(seminar=seminar, rules={})
        seminar_update(seminar=seminar, opens_at=timezone.now() - timedelta(seconds=1))
    assert _due(acme.schema, seminar.pk) == []


def test_a_rush_process_is_ready_before_the_opening(opening, tenants):
    acme, seminar, opens_at = opening
    globex = tenants["globex"]
    counter = SeatCounter(seminar_id=seminar.pk, schema=acme.schema)
    assert tenant_for_host_known(hostname=acme.host) == (False, None)
    warmer = Warmer()
    done = warmer.run_once(now=opens_at.timestamp() - 60)
    # The company's host answers from memory, its state and its pages (one per opening time) are ready;
    # nothing of a company that opens nothing was touched.
    known, tenant = tenant_for_host_known(hostname=acme.host)
    assert known and tenant.schema_name == acme.schema
    assert tenant_for_host_known(hostname=globex.host) == (False, None)
    state = seminar_state_cached(schema=acme.schema, seminar_id=seminar.pk)
    assert state is not None and state.slots
    language = settings.LANGUAGE_CODE
    for rank in ("A", "C", "B"):
        assert pages.page_body_cached(state=state, rank=rank, language=language) is not None
    assert pages.page_body_cached(state=state, rank="A", language=language) == pages.page_body_cached(
        state=state, rank="C", language=language
    )
    assert pages.page_body_cached(state=state, rank="A", language=language) != pages.page_body_cached(
        state=state, rank="B", language=language
    )
    assert done["states"] == 1 and done["pages"] == 2 and done["counters"] == 0
    assert not counter.client.exists(counter.ready_key)
    # The next pass has nothing new to do; close to the opening the state is read again and the counters
    # are built in Redis (for every process).
    assert warmer.run_once(now=opens_at.timestamp() - 58)["states"] == 0
    done = warmer.run_once(now=opens_at.timestamp() - COUNTERS_AHEAD_SECONDS + 1)
    assert done["states"] == 1 and done["counters"] == 1 and done["pages"] == 0
    assert counter.client.exists(counter.ready_key)
    done = warmer.run_once(now=opens_at.timestamp() - 5)
    assert done["hosts"] >= 1 and (done["states"], done["pages"], done["counters"]) == (0, 0, 0)
