"""What the dashboard's triggers cost the writes they follow: a job-board import of new students and batches of
seminar bookings (the rush path's one statement), each timed with the triggers on and off.

Every run happens in a transaction that is rolled back, so each starts from the same 100,000 students; the
"off" runs disable only the dashboard's triggers (the season rule's stay on). Runs alternate on and off and
the median of each is kept, since the machine is shared.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import import_module

from django.db import connection, transaction

IMPORTED = int(os.environ.get("BENCH_TRIGGER_IMPORT", "5000"))
BOOKED = int(os.environ.get("BENCH_TRIGGER_BOOKINGS", "2000"))
BOOKING_BATCH = 500  # students per statement, as the rush path's persist step writes them
REPEATS = int(os.environ.get("BENCH_TRIGGER_REPEATS", "5"))


def _facts_triggers(*, enabled: bool) -> None:
    """Switch the dashboard's triggers of every source table (dashboard migration 0001) in this transaction."""
    sources = import_module("dashboard.migrations.0001_student_facts").SOURCES
    verb = "ENABLE" if enabled else "DISABLE"
    with connection.cursor() as cursor:
        for table in sources:
            actions = ", ".join(
                f"{verb} TRIGGER {table}_facts_{event}"
                for event in ("inserted", "deleted", "updated", "truncated")
            )
            cursor.execute(f"ALTER TABLE {table} {actions}")


def _timed(work: Callable[[], int], *, triggers: bool) -> float:
    with transaction.atomic():
        if not triggers:
            _facts_triggers(enabled=False)
        started = time.perf_counter()
        done = work()
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    assert done > 0, "the timed work wrote nothing"
    return seconds


def _import_csv(*, year: int) -> bytes:
    lines = ["氏名,氏名（カナ）,メールアドレス,学校名,卒業年"]
    lines += [f"計測　新{n},ケイソク　シン,new{n}@bench.example.jp,東京大学,{year}" for n in range(IMPORTED)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _import(*, data: bytes) -> Callable[[], int]:
    from candidates.services.importing import entries_import_file

    def work() -> int:
        report = entries_import_file(fileobj=io.BytesIO(data))
        assert report.created == IMPORTED, report
        return report.created

    return work


def _bookings(*, season) -> Callable[[], int]:
    from booking.seats import SeatRequest, check_in_code_new, seats_take
    from booking.services.seminars import seminar_create, slot_create
    from candidates.models import Candidate

    students = list(
        Candidate.objects.filter(season=season).order_by("-id").values_list("id", flat=True)[:BOOKED]
    )

    def work() -> int:
        now = datetime.now(UTC)
        seminar = seminar_create(title="計測 追加説明会", season=season)
        slot = slot_create(seminar=seminar, starts_at=now, ends_at=now + timedelta(hours=1), capacity=BOOKED)
        quota = slot.quotas.get().pk
        booked = 0
        for start in range(0, len(students), BOOKING_BATCH):
            requests = [
                SeatRequest(
                    candidate_id=pk,
                    slot_id=slot.pk,
                    seminar_id=seminar.pk,
                    quota=quota,
                    code=check_in_code_new(),
                )
                for pk in students[start : start + BOOKING_BATCH]
            ]
            booked += len(seats_take(requests, now=now))
        assert booked == BOOKED, booked
        return booked

    return work


def trigger_write_cost(*, season) -> dict:
    """Medians with and without the dashboard's triggers, and the overhead in per cent of the time without."""
    works = {
        "import": _import(data=_import_csv(year=season.graduation_year)),
        "bookings": _bookings(season=season),
    }
    seconds: dict[str, dict[str, list[float]]] = {name: {"on": [], "off": []} for name in works}
    for _ in range(REPEATS):
        for name, work in works.items():
            for triggers in (True, False):
                seconds[name]["on" if triggers else "off"].append(_timed(work, triggers=triggers))
    medians = {
        name: {state: statistics.median(runs) for state, runs in by_state.items()}
        for name, by_state in seconds.items()
    }
    return {
        "trigger_write_overhead_pct": {
            name: round(100 * (m["on"] - m["off"]) / m["off"], 1) for name, m in medians.items()
        },
        "trigger_write_s": {
            name: {state: round(value, 3) for state, value in m.items()} for name, m in medians.items()
        },
        "trigger_write_sizes": {
            "import_students": IMPORTED,
            "bookings": BOOKED,
            "booking_batch": BOOKING_BATCH,
            "repeats": REPEATS,
        },
    }
