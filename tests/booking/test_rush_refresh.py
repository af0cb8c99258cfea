"""Seminar state reloads behind the rush's event loop: once per seminar at a time, at a bounded pace."""

from __future__ import annotations

import threading
import time

from booking.rush import refresh


def test_reloads_are_queued_once_per_seminar_and_paced():
    ran: list[tuple[tuple[str, int], float]] = []
    release = threading.Event()
    done = threading.Event()

    def reload_for(key: tuple[str, int], *, hold: bool = False):
        def reload() -> None:
            if hold:
                release.wait(5)
            ran.append((key, time.monotonic()))
            if len(ran) == 4:
                done.set()

        return reload

    assert refresh.refresh_later(schema="t_a", seminar_id=1, reload=reload_for(("t_a", 1), hold=True))
    # Asked again while its reload is still waiting: not queued a second time.
    assert not refresh.refresh_later(schema="t_a", seminar_id=1, reload=reload_for(("t_a", 1)))
    for schema in ("t_b", "t_c", "t_d"):
        assert refresh.refresh_later(schema=schema, seminar_id=1, reload=reload_for((schema, 1)))
    release.set()
    assert done.wait(10)
    assert [key for key, _ in ran] == [("t_a", 1), ("t_b", 1), ("t_c", 1), ("t_d", 1)]
    gaps = [later - earlier for (_, earlier), (_, later) in zip(ran, ran[1:], strict=False)]
    assert min(gaps) >= 1 / refresh.REFRESH_PER_SECOND * 0.9
    # Once it ran, the seminar can be queued again.
    time.sleep(1 / refresh.REFRESH_PER_SECOND)
    again = threading.Event()
    assert refresh.refresh_later(schema="t_a", seminar_id=1, reload=again.set)
    assert again.wait(5)
