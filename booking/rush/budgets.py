"""Per-company budgets on the rush path: one company's flood cannot take a whole rush process.

Each process counts, per company, the rush requests it is deciding (the **admission** budget) and the
threads — each holding a database connection — that company's requests occupy (the **connection** budget).
A request over its company's budget is answered at once, before Redis or PostgreSQL is asked: 503 with
Retry-After (the page asks again by itself), so the process keeps serving every other company. The waiting
room still orders a company's own students; the budgets only bound what one company may hold of a process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Requests of one company being decided at once in one process (the event loop's and the threads' together).
ADMISSION = int(os.environ.get("RUSH_COMPANY_INFLIGHT", "512"))
# Threads (database connections) one company may occupy in one process; the rest stay free for the others.
CONNECTIONS = int(os.environ.get("RUSH_COMPANY_CONNECTIONS", "6"))


class Budget:
    """A per-company count with a ceiling (thread-safe; the event loop and the threads share it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, company: str) -> bool:
        with self._lock:
            used = self.used.get(company, 0)
            if used >= self.limit:
                return False
            self.used[company] = used + 1
            return True

    def leave(self, company: str) -> None:
        with self._lock:
            used = self.used.get(company, 0) - 1
            if used > 0:
                self.used[company] = used
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


admission = Budget(ADMISSION)
connections = Budget(CONNECTIONS)
