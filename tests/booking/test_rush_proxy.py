"""The rush page through the production layout (nginx + the rush workers, deploy/stack.py): the proxy answers
a rank's page loads from its copy, and only under the view token of that rank."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import Booking, Seminar
from booking.rush import passes
from deploy.stack import stack_start
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make
from tests.conftest import server_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tenants):
    running = stack_start(env=server_env(), http_server="daphne", ws_processes=1, rush_workers=1)
    yield f"http://127.0.0.1:{running.port}"
    running.stop()


def _cookies(schema: str, candidate, *, rank: str) -> dict[str, str]:
    return passes.student_cookies_issue(
        schema=schema, candidate_id=candidate.pk, rank=rank, season_id=candidate.season_id
    )


def test_the_proxy_serves_a_ranks_page_from_its_copy_only_under_that_ranks_token(stack, tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 2, "B": 1}, capacity=3, slots=2)
        Seminar.objects.filter(pk=seminar.pk).update(
            waiting_room="off", online_url="https://meet.example.jp/secret-room"
        )
        a1, a2, b1 = candidate_make(rank="A"), candidate_make(rank="A"), candidate_make(rank="B")
        slot_id = seminar.slots.first().pk
    url = f"{stack}/my/rush/{seminar.pk}/"
    try:
        with httpx.Client(headers={"Host": acme.host}, timeout=10) as http:

            def page(cookies: dict[str, str]) -> httpx.Response:
                http.cookies.clear()
                return http.get(url, cookies=cookies)

            # A B student who copied an A student's view token: the B page, and nothing kept under A's token.
            copied = {**_cookies(acme.schema, b1, rank="B")}
            copied[passes.VIEW_COOKIE] = _cookies(acme.schema, a1, rank="A")[passes.VIEW_COOKIE]
            poisoned = page(copied)
            assert poisoned.status_code == 200 and poisoned.headers["x-cache"] == "MISS"
            # The A students: the first load reaches the workers, the next one is answered by the proxy.
            first = page(_cookies(acme.schema, a1, rank="A"))
            assert first.status_code == 200 and first.headers["x-cache"] == "MISS"
            second = page(_cookies(acme.schema, a2, rank="A"))
            assert second.headers["x-cache"] == "HIT" and second.text == first.text
            # Browsers keep nothing, the proxy passes no cookie on, and the page has no meeting link.
            assert second.headers["cache-control"] == "no-store, private"
            assert "set-cookie" not in second.headers and "secret-room" not in second.text
            assert "x-accel-expires" not in second.headers
            # Another rank has its own copy; without a token nothing comes from a copy.
            assert page(_cookies(acme.schema, b1, rank="B")).headers["x-cache"] in ("MISS", "EXPIRED")
            bare = {passes.STUDENT_COOKIE: _cookies(acme.schema, a1, rank="A")[passes.STUDENT_COOKIE]}
            assert page(bare).headers["x-cache"] == "BYPASS"
            # Without a pass, a copied token opens nothing but the copy of its own rank: no pass, no booking.
            anonymous = http.post(
                f"{stack}/my/rush/{seminar.pk}/book",
                json={"slot": slot_id},
                headers={"X-Requested-With": "rush"},
                cookies={passes.VIEW_COOKIE: _cookies(acme.schema, a1, rank="A")[passes.VIEW_COOKIE]},
            )
            assert anonymous.status_code == 403
    finally:
        rush_seminar_remove(schema=acme.schema, seminar=seminar)


def test_the_proxy_answers_the_rush_pages_notices_from_a_short_copy(stack, tenants):
    """Every rush page fetches the company's notices after load: at the opening second the proxy answers."""
    acme = tenants["acme"]
    with httpx.Client(headers={"Host": acme.host}, timeout=10) as http:
        first = http.get(f"{stack}/my/status.json")
        second = http.get(f"{stack}/my/status.json")
        assert first.status_code == 200 and "banners" in first.json()
        assert second.headers["x-cache"] == "HIT" and second.json() == first.json()
        assert "set-cookie" not in second.headers
        # Another company's notices are never served from acme's copy.
        globex = http.get(f"{stack}/my/status.json", headers={"Host": tenants["globex"].host})
        assert globex.headers["x-cache"] == "MISS"


def test_the_proxy_holds_one_companys_flood_in_arrival_order_while_another_company_books(
    tenants, committed, tmp_path
):
    """The proxy's per-company budget (3 here) while the company's quota rows are locked by another
    transaction: three bookings wait in the rush process, every other one is given a place in the seminar's
    line by the proxy at once (signed, bound to the student's pass, in the student's language), another
    company's students still reach the rush process, and once the rows are free the line goes on in the order
    of its places: a later place waits while the earlier ones are booked."""
    from tests.booking.test_rush_persist import RowHolder

    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(acme.schema):
        flood = seminar_make(quotas={"A": 10}, capacity=10)
        Seminar.objects.filter(pk=flood.pk).update(waiting_room="off")
        acme_slot = flood.slots.first().pk
        students = [candidate_make(rank="A") for _ in range(10)]
    with schema_context(globex.schema):
        quiet = seminar_make(quotas={"A": 5}, capacity=5)
        # Opening tomorrow: its answer needs no write, so it shows the proxy's budget alone.
        Seminar.objects.filter(pk=quiet.pk).update(
            waiting_room="off", opens_at=timezone.now() + timedelta(days=1)
        )
        globex_slot = quiet.slots.first().pk
        globex_student = candidate_make(rank="A")
    # Its own timing log: another stack of this module still running flushes its buffered lines into the
    # shared one up to a second later.
    timing_log = tmp_path / "rush-timing.log"
    running = stack_start(
        env=server_env(),
        http_server="daphne",
        rush_workers=1,
        rush_inflight=8,
        rush_company_inflight=3,
        logs=tmp_path,
    )
    base = f"http://127.0.0.1:{running.port}"
    holder = RowHolder(acme.schema, flood)
    places: dict[int, str] = {}  # student -> their place's cookie
    passes_of: dict[tuple, dict[str, str]] = {}  # each student keeps their pass, as a browser does

    def book(host, schema, candidate, seminar_id, slot_id, *, timeout=30, place=None, **headers):
        if (schema, candidate.pk) not in passes_of:
            passes_of[(schema, candidate.pk)] = _cookies(schema, candidate, rank="A")
        cookies = dict(passes_of[(schema, candidate.pk)])
        if place is not None:
            cookies["rush_line"] = place
        answer = httpx.post(
            f"{base}/my/rush/{seminar_id}/book",
            json={"slot": slot_id},
            headers={"Host": host, "X-Requested-With": "rush", **headers},
            cookies=cookies,
            timeout=timeout,
        )
        if answer.cookies.get("rush_line"):
            places[candidate.pk] = answer.cookies["rush_line"]
        return answer

    def acme_books(index, **options):
        return book(acme.host, acme.schema, students[index], flood.pk, acme_slot, **options)

    try:
        holder.start()
        assert holder.locked.wait(10)
        with ThreadPoolExecutor(max_workers=6) as pool:
            # Six of acme's students at once: the first three to reach the proxy wait in the rush process for
            # the rows, the other three are given places 1-3 at once, whichever they are.
            sent = time.monotonic()
            futures = {pool.submit(acme_books, index): index for index in range(6)}
            done: set = set()
            pending = set(futures)
            while len(done) < 3 and time.monotonic() - sent < 10:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                done |= finished
            turned_in = time.monotonic() - sent
            finished, held = wait(pending, timeout=1.0)  # nothing more comes back: the other three are held
            done |= finished
            lined = {futures[future]: future.result() for future in done}
            assert len(lined) == 3 and len(held) == 3 and turned_in < 5
            assert all(answer.status_code == 202 for answer in lined.values())
            assert sorted(answer.json()["ticket"] for answer in lined.values()) == [1, 2, 3]
            first = next(iter(lined.values()))
            assert first.json()["code"] == "line" and first.json()["ok"] is False
            assert "順番待ち" in first.json()["message"] and first.headers["cache-control"] == "no-store"
            assert int(first.headers["retry-after"]) >= 1 and first.json()["position"] >= 1
            # Newcomers while others wait join the end of the line, in English for an English browser.
            english = acme_books(6, timeout=5, **{"Accept-Language": "en-US,en"})
            assert english.status_code == 202 and english.json()["ticket"] == 4
            assert english.json()["message"].startswith("You are in line")
            assert [acme_books(index, timeout=5).json()["ticket"] for index in (7, 8)] == [5, 6]
            # Asking again keeps one's place; a place is the student's own: another's cookie starts anew, and
            # a pass holds one place however often it asks without one (a made-up cookie included).
            again = next(iter(lined))
            assert acme_books(again, timeout=5, place=places[students[again].pk]).json()["ticket"] == (
                lined[again].json()["ticket"]
            )
            borrowed = acme_books(9, timeout=5, place=places[students[6].pk])
            assert borrowed.json()["ticket"] == 7
            forged = acme_books(9, timeout=5, place=f"{flood.pk}.1.AAAA")
            assert forged.json()["ticket"] == 7
            # Another company's students still reach the rush process and get its answer at once.
            asked = time.monotonic()
            other = book(globex.host, globex.schema, globex_student, quiet.pk, globex_slot, timeout=5)
            assert other.json()["code"] == "not_open" and time.monotonic() - asked < 2
            # Anything else over the budget hears the rush path's own "busy".
            polled = httpx.get(
                f"{base}/my/rush/{flood.pk}/queue",
                headers={"Host": acme.host},
                cookies=_cookies(acme.schema, students[0], rank="A"),
                timeout=5,
            )
            assert polled.status_code == 503 and polled.json()["code"] == "busy"
            assert polled.headers["retry-after"] == "2"
            assert not [future.result().text for future in held if future.done()]
            holder.release.set()
            answers = [future.result(timeout=30) for future in held]
        assert [a.json()["code"] for a in answers] == ["booked"] * 3
        # Three bookings finished: the head moved two places for each (up to the last place, 7). While the
        # first place is with the rush process (the rows locked again), the last place still waits; then the
        # places are booked in their order.
        by_place = {int(cookie.split(".")[1]): pk for pk, cookie in places.items()}
        index_of = {student.pk: index for index, student in enumerate(students)}

        def place_books(place, **options):
            pk = by_place[place]
            return acme_books(index_of[pk], place=places[pk], **options)

        again = RowHolder(acme.schema, flood)
        again.start()
        assert again.locked.wait(10)
        with ThreadPoolExecutor(max_workers=1) as pool:
            first_place = pool.submit(place_books, 1, timeout=30)
            time.sleep(0.5)  # with the rush process, waiting for the rows
            last = place_books(7, timeout=5)
            assert last.json()["code"] == "line" and last.json()["ticket"] == 7
            assert last.json()["position"] == 1
            again.release.set()
            assert first_place.result(timeout=30).json()["code"] == "booked"
        for place in range(2, 8):
            assert place_books(place, timeout=10).json()["code"] == "booked", place
        with schema_context(acme.schema):
            booked = set(Booking.objects.filter(seminar=flood).values_list("candidate_id", flat=True))
        assert booked == {students[futures[future]].pk for future in held} | set(by_place.values())
        running.stop()  # the proxy writes its buffered timing log as it stops
        with timing_log.open() as log_file:
            lines = [line.split() for line in log_file]
        # Each answer timed at the proxy: the places given at once, the waiting three as long as they waited.
        line_times = [float(line[1]) for line in lines if line[2] == "202"]
        assert len(line_times) >= 9 and max(line_times) < 1
        booked_times = sorted(float(line[1]) for line in lines if line[2] == "200")
        assert len(booked_times) == 10 and booked_times[-3] > 1
    finally:
        holder.release.set()
        running.stop()
        rush_seminar_remove(schema=acme.schema, seminar=flood)
        rush_seminar_remove(schema=globex.schema, seminar=quiet)
