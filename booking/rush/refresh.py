"""Seminar states refreshed behind the event loop, at a bounded pace, never in the way of first loads.

Each rush process keeps every opening seminar's state (booking/rush/state.py) and asks for it again once
its copy is past STATE_SECONDS. With one company opening that is one reload a second; with hundreds opening
in the same minute it was hundreds a second (about 3 ms of CPU each), more than the process had to give:
the reloads queued on the threads that also load a company's first state, counters and pages, and the
students waiting on those loads timed out. Here a reload is queued once per seminar, run on one thread of
its own, at most REFRESH_PER_SECOND a second: a process with N seminars under way sees a recruiter's change
within about max(STATE_SECONDS, N / REFRESH_PER_SECOND) seconds, and keeps answering from its copy
meanwhile (up to STALE_SECONDS).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

REFRESH_PER_SECOND = float(os.environ.get("RUSH_STATE_REFRESH_PER_S", "10"))

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rush-refresh")
_pending: set[tuple[str, int]] = set()
_lock = threading.Lock()


def refresh_later(*, schema: str, seminar_id: int, reload: Callable[[], None]) -> bool:
    """Queue one reload of the seminar's state unless one is already queued; False when it was."""
    key = (schema, seminar_id)
    with _lock:
        if key in _pending:
            return False
        _pending.add(key)
    _executor.submit(_paced, key, reload)
    return True


def _paced(key: tuple[str, int], reload: Callable[[], None]) -> None:
    started = time.monotonic()
    try:
        reload()
    finally:
        with _lock:
            _pending.discard(key)
        time.sleep(max(0.0, 1 / REFRESH_PER_SECOND - (time.monotonic() - started)))


def refresh_shutdown() -> None:
    _executor.shutdown(wait=False, cancel_futures=True)
