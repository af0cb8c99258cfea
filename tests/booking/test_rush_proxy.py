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


def test_the_proxy_turns_one_companys_flood_away_at_once_while_another_company_books(
    tenants, committed, tmp_path
):
    """The proxy's per-company budget (3 here): six of a company's students at once while its quota rows are
    locked by another transaction — three wait in the rush process, the other three are answered "busy" by
    the proxy at once, in the student's language, while another company's students are still answered by the
    rush process; the three are booked once the rows are free."""
    from tests.booking.test_rush_persist import RowHolder

    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(acme.schema):
        flood = seminar_make(quotas={"A": 10}, capacity=10)
        Seminar.objects.filter(pk=flood.pk).update(waiting_room="off")
        acme_slot = flood.slots.first().pk
        students = [candidate_make(rank="A") for _ in range(7)]
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

    def book(host, schema, candidate, seminar_id, slot_id, *, timeout=30, **headers) -> httpx.Response:
        return httpx.post(
            f"{base}/my/rush/{seminar_id}/book",
            json={"slot": slot_id},
            headers={"Host": host, "X-Requested-With": "rush", **headers},
            cookies=_cookies(schema, candidate, rank="A"),
            timeout=timeout,
        )

    try:
        holder.start()
        assert holder.locked.wait(10)
        with ThreadPoolExecutor(max_workers=6) as pool:
            # Six of acme's students at once: the first three to reach the proxy wait in the rush process for
            # the rows, the other three are turned away by the proxy at once, whichever they are.
            sent = time.monotonic()
            futures = {
                pool.submit(book, acme.host, acme.schema, student, flood.pk, acme_slot): student
                for student in students[:6]
            }
            done: set = set()
            pending = set(futures)
            while len(done) < 3 and time.monotonic() - sent < 10:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                done |= finished
            turned_in = time.monotonic() - sent
            finished, held = wait(pending, timeout=1.0)  # nothing more comes back: the other three are held
            done |= finished
            turned = [future.result() for future in done]
            assert len(turned) == 3 and len(held) == 3 and turned_in < 5
            assert all(answer.status_code == 503 for answer in turned)
            first = turned[0]
            assert first.headers["retry-after"] == "2" and first.headers["cache-control"] == "no-store"
            assert first.json() == {"ok": False, "code": "busy", "message": first.json()["message"]}
            assert "混み合っています" in first.json()["message"]
            english = book(
                acme.host,
                acme.schema,
                students[6],
                flood.pk,
                acme_slot,
                timeout=5,
                **{"Accept-Language": "en-US,en"},
            )
            assert english.status_code == 503 and english.json()["message"].startswith("It is very busy")
            # Another company's students still reach the rush process and get its answer at once.
            asked = time.monotonic()
            other = book(globex.host, globex.schema, globex_student, quiet.pk, globex_slot, timeout=5)
            assert other.json()["code"] == "not_open" and time.monotonic() - asked < 2
            assert not [future.result().text for future in held if future.done()]
            holder.release.set()
            answers = [future.result(timeout=30) for future in held]
        assert [a.json()["code"] for a in answers] == ["booked"] * 3
        with schema_context(acme.schema):
            booked = set(Booking.objects.filter(seminar=flood).values_list("candidate_id", flat=True))
        assert booked == {futures[future].pk for future in held}
        running.stop()  # the proxy writes its buffered timing log as it stops
        with timing_log.open() as log_file:
            lines = [line.split() for line in log_file]
        # Each answer timed at the proxy: the four turned away at once, the waiting three as long as they waited.
        busy_times = [float(line[1]) for line in lines if line[2] == "503"]
        assert len(busy_times) == 4 and max(busy_times) < 1
        booked_times = sorted(float(line[1]) for line in lines if line[2] == "200")
        assert len(booked_times) == 3 and booked_times[0] > 1
    finally:
        holder.release.set()
        running.stop()
        rush_seminar_remove(schema=acme.schema, seminar=flood)
        rush_seminar_remove(schema=globex.schema, seminar=quiet)
