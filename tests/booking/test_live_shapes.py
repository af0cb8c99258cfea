"""The seat push reads a seminar's shape (slots, visible ranks) from the rush process's copy of its state when
it has one, and builds exactly the frames it builds from the database."""

from __future__ import annotations

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from booking import live
from booking.models import POOL
from booking.rush.state import seminar_state, seminar_state_forget
from booking.services.seminars import rank_rules_set
from tests.booking.conftest import seminar_make


def _frames(schema: str, seminar_id: int) -> tuple[dict[str, dict], list[str]]:
    """{group: frame without its timestamp}, and the SQL the push ran for them."""
    with CaptureQueriesContext(connection) as queries:
        messages = live._messages_for_many(by_schema={schema: [seminar_id]})
    frames = {}
    for group, text in messages[(schema, seminar_id)].items():
        frame = json.loads(text)
        frame.pop("at")
        frames[group] = frame
    return frames, [query["sql"] for query in queries.captured_queries]


def test_a_push_of_a_seminar_the_process_holds_reads_no_shape_from_the_database(tenants, db):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 3, "B": 2, POOL: 1}, slots=2, capacity=10)
        rank_rules_set(seminar=seminar, rules={"D": (False, None)})
    seminar_state_forget()
    live._shapes.clear()
    from_database, asked = _frames(acme.schema, seminar.pk)
    assert any("booking_seminarrankrule" in sql for sql in asked)
    # The rank the recruiter hid gets no frame; every visible one does, for both slots.
    assert not [group for group in from_database if group.endswith(".D")]
    assert all(len(frame["slots"]) == 2 for frame in from_database.values())

    live._shapes.clear()
    with schema_context(acme.schema):
        seminar_state(schema=acme.schema, seminar_id=seminar.pk)  # what a rush process holds at an opening
    from_state, asked = _frames(acme.schema, seminar.pk)
    assert from_state == from_database
    assert not any("booking_seminarrankrule" in sql or 'booking_slot"' in sql for sql in asked)
    seminar_state_forget()
