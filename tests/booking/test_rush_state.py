"""The rush path's seminar state: served a little past its time while one refresh runs."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import schema_context

from booking.rush import state as rush_state
from tests.booking.conftest import seminar_make


@pytest.mark.django_db
def test_expired_state_is_served_while_exactly_one_caller_refreshes(tenants):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 2}, capacity=2)
        rush_state.seminar_state_forget()
        assert rush_state.seminar_state_or_stale(schema=acme.schema, seminar_id=seminar.pk) == (None, True)
        loaded = rush_state.seminar_state(schema=acme.schema, seminar_id=seminar.pk)
        assert rush_state.seminar_state_or_stale(schema=acme.schema, seminar_id=seminar.pk) == (loaded, False)
        key = (acme.schema, seminar.pk)
        # Past its time: the first caller is asked to refresh, the next ones keep the state without asking.
        rush_state._cache[key] = (time.monotonic() - 0.1, loaded)
        assert rush_state.seminar_state_or_stale(schema=acme.schema, seminar_id=seminar.pk) == (loaded, True)
        assert rush_state.seminar_state_or_stale(schema=acme.schema, seminar_id=seminar.pk) == (loaded, False)
        # The refresh reads PostgreSQL even though the entry looks current again.
        seminar.title = "改題"
        seminar.save(update_fields=["title"])
        fresh = rush_state.seminar_state(schema=acme.schema, seminar_id=seminar.pk, fresh=True)
        assert fresh.title == "改題"
        assert rush_state.seminar_state_or_stale(schema=acme.schema, seminar_id=seminar.pk) == (fresh, False)
        # Too old to serve at all: nothing usable, the caller takes the regular way.
        rush_state._cache[key] = (time.monotonic() - rush_state.STALE_SECONDS - 1, fresh)
        assert rush_state.seminar_state_or_stale(schema=acme.schema, seminar_id=seminar.pk) == (None, True)
        rush_state.seminar_state_forget()
