"""The auto waiting room is switched on again while decisions stay slow, and said once a minute, not each time."""

from __future__ import annotations

import logging
import time

from django.test import RequestFactory

from booking.models import Seminar
from booking.rush import pipeline
from booking.rush.state import seminar_state, seminar_state_forget
from tests.booking.conftest import seminar_make


def test_a_slow_seminar_keeps_its_room_on_and_the_log_says_so_once_a_minute(acme_schema, caplog, monkeypatch):
    seminar = seminar_make(quotas={"A": 3}, capacity=3)
    Seminar.objects.filter(pk=seminar.pk).update(waiting_room="auto", waiting_room_latency_ms=500)
    seminar_state_forget()
    state = seminar_state(schema=acme_schema.schema, seminar_id=seminar.pk)
    request = RequestFactory().post(f"/my/rush/{seminar.pk}/book")
    switched: list[object] = []
    clock = [1_000.0]
    monkeypatch.setattr(pipeline.time, "monotonic", lambda: clock[0])

    def slow_decision() -> None:
        now = time.time()
        pipeline.watch_latency(
            request, gate="gate", state=state, started=now - 2.0, decided_at=now, room_on=switched.append
        )

    with caplog.at_level(logging.WARNING, logger="booking.rush.pipeline"):
        slow_decision()
        slow_decision()  # the same second: nothing more asked of Redis
        for _ in range(30):  # every second for half a minute: the room renewed each time, said once
            clock[0] += 1.0
            slow_decision()
        clock[0] += 60.0
        slow_decision()
    said = [r for r in caplog.records if "switched on by latency" in r.getMessage()]
    assert len(switched) == 32
    assert len(said) == 2 and f"seminar={seminar.pk}" in said[0].getMessage()
    # A fast decision switches nothing on.
    now = time.time()
    clock[0] += 5.0
    pipeline.watch_latency(
        request, gate="gate", state=state, started=now - 0.1, decided_at=now, room_on=switched.append
    )
    assert len(switched) == 32
    seminar_state_forget()
