"""Per-company budgets on the rush path: one company's flood cannot take a whole rush process.

Each process counts, per company, the rush requests it is deciding (the **admission** budget) and the
threads — each holding a database connection — that company's requests occupy (the **connection** budget).
A request over its company's budget is answered at once, before Redis or PostgreSQL is asked: 503 with
Retry-After (the page asks again by itself), so the process keeps serving every other company. The waiting
room still orders a company's own students; the budgets only bound what one company may hold of a process.

A budget is a share, not a wall: a company always gets its own share, and may go beyond it while the process
is otherwise quiet — as long as fewer than `capacity - limit` requests are held in total, so one share stays
free for a company that arrives next. One company opening alone is never refused for the sake of others that
are not there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Requests of one company being decided at once in one process (the event loop's and the threads' together).
ADMISSION = int(os.environ.get("RUSH_COMPANY_INFLIGHT", "512"))
# Requests of all companies together one process holds before a company over its share is refused.
PROCESS_INFLIGHT = int(os.environ.get("RUSH_PROCESS_INFLIGHT", "4096"))
# Threads (database connections) one company may occupy in one process; the rest stay free for the others.
CONNECTIONS = int(os.environ.get("RUSH_COMPANY_CONNECTIONS", "6"))


class Budget:
    """A per-company count with a ceiling (thread-safe; the event loop and the threads share it)."""

    def __init__(self, limit: int, *, capacity: int | None = None) -> None:
        self.limit = limit
        # Without a capacity the share is a hard limit.
        self.capacity = limit if capacity is None else max(capacity, limit)
        self.used: dict[str, int] = {}
        self.total = 0
        self._lock = threading.Lock()

    def enter(self, company: str) -> bool:
        with self._lock:
            used = self.used.get(company, 0)
            if used >= self.limit and self.total >= self.capacity - self.limit:
                return False
            self.used[company] = used + 1
            self.total += 1
            return True

    def leave(self, company: str) -> None:
        with self._lock:
            used = self.used.get(company, 0)
            if used <= 0:
                return
            self.total -= 1
            if used > 1:
                self.used[company] = used - 1
            else:
                self.used.pop(company, None)

    @contextmanager
    def held(self, company: str) -> Iterator[bool]:
        """True inside when the company was within its budget (and holds one unit until the end)."""
        entered = self.enter(company)
        try:
            yield entered
        finally:
            if entered:
                self.leave(company)


admission = Budget(ADMISSION, capacity=PROCESS_INFLIGHT)
connections = Budget(CONNECTIONS)
