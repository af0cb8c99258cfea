"""Live seats over a real websocket against daphne: per rank, per tenant, coalesced, latest value."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from django_tenants.utils import schema_context

from booking.models import POOL, Booking, Seminar
from booking.services.mypage import mypage_token_create
from booking.services.seminars import rank_rules_set, slot_quotas_set
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make


def sign_in(server, host: str, token: str, seminar_id: int) -> tuple[str, str]:
    """(Cookie header, csrf token) of a student who followed their link and opened the seminar."""
    with server.http(host) as http:
        assert server.mypage_sign_in(http, token).status_code == 302
        assert http.get(f"/my/seminars/{seminar_id}/").status_code == 200
        session, csrf = http.cookies["sessionid"], http.cookies["csrftoken"]
    return f"sessionid={session}; csrftoken={csrf}", csrf


def book(server, host: str, cookie: str, csrf: str, slot_id: int) -> dict:
    with server.http(host) as http:
        response = http.post(
            "/my/book/",
            data={"slot": slot_id, "csrfmiddlewaretoken": csrf},
            headers={"Accept": "application/json", "Cookie": cookie},
        )
    return response.json()


def quotas_edit(schema: str, slot, quotas: dict[str, int]) -> None:
    with schema_context(schema):
        slot_quotas_set(slot=slot, quotas=quotas)


@pytest.fixture
def live_seminar(tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(title="ライブ席数", quotas={"A": 3, "B": 2, POOL: 1}, capacity=20)
        rank_rules_set(seminar=seminar, rules={"D": (False, None)})
        people = {
            name: candidate_make(rank=rank)
            for name, rank in [("a_watch", "A"), ("b_watch", "B"), ("d_watch", "D")]
            + [(f"a_book{i}", "A") for i in range(12)]
        }
        tokens = {name: mypage_token_create(candidate=c) for name, c in people.items()}
        slot = seminar.slots.get()
    yield acme, seminar, slot, tokens, people
    with schema_context(acme.schema):
        Booking.objects.filter(seminar=seminar).delete()
        Seminar.objects.filter(pk=seminar.pk).delete()
        Candidate.objects.filter(pk__in=[c.pk for c in people.values()]).delete()


async def _next(socket, timeout: float = 3.0) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def _changed(socket, previous: dict, timeout: float) -> dict:
    """The next message whose counts differ from `previous` (a late push of an earlier change repeats it)."""
    deadline = time.monotonic() + timeout
    while True:
        message = await _next(socket, max(deadline - time.monotonic(), 0.01))
        if message["slots"] != previous:
            return message


def test_counts_per_rank_pushed_after_booking_and_quota_edit(live_server_daphne, tenants, live_seminar):
    server = live_server_daphne
    acme, seminar, slot, tokens, _people = live_seminar
    path = f"/ws/seminars/{seminar.pk}/"
    origin = f"http://{acme.host}:{server.port}"
    a_cookie, _ = sign_in(server, acme.host, tokens["a_watch"], seminar.pk)
    b_cookie, _ = sign_in(server, acme.host, tokens["b_watch"], seminar.pk)
    booker_cookie, booker_csrf = sign_in(server, acme.host, tokens["a_book0"], seminar.pk)
    key = str(slot.pk)

    async def scenario() -> None:
        async with (
            server.ws_connect(
                acme.host, path, origin=origin, additional_headers={"Cookie": a_cookie}
            ) as on_a,
            server.ws_connect(
                acme.host, path, origin=origin, additional_headers={"Cookie": b_cookie}
            ) as on_b,
        ):
            assert (await _next(on_a))["slots"] == {key: 4}  # A=3 plus the pool
            assert (await _next(on_b))["slots"] == {key: 3}  # B=2 plus the pool
            answer = await asyncio.to_thread(book, server, acme.host, booker_cookie, booker_csrf, slot.pk)
            assert answer["code"] == "booked"
            # The answer comes after the commit: from here the watchers hear of it within the window.
            started = time.monotonic()
            assert (await _changed(on_a, {key: 4}, 1.5))["slots"] == {key: 3}
            assert time.monotonic() - started < 1.5
            assert (await _next(on_b, 1.5))["slots"] == {key: 3}  # rank A used its own quota
            # A recruiter edits the quota: the pushed counts follow.
            await asyncio.to_thread(quotas_edit, acme.schema, slot, {"A": 5, "B": 2, POOL: 1})
            assert (await _changed(on_a, {key: 3}, 1.5))["slots"] == {key: 5}

    asyncio.run(scenario())


def test_hidden_rank_signed_out_and_other_tenant_are_refused(live_server_daphne, tenants, live_seminar):
    server = live_server_daphne
    acme, seminar, _slot, tokens, _people = live_seminar
    globex = tenants["globex"]
    path = f"/ws/seminars/{seminar.pk}/"
    with server.http(acme.host) as http:
        assert server.mypage_sign_in(http, tokens["d_watch"]).status_code == 302
        d_cookie = f"sessionid={http.cookies['sessionid']}"
    a_cookie, _ = sign_in(server, acme.host, tokens["a_watch"], seminar.pk)

    async def refused(host: str, cookie: str | None) -> int:
        headers = {"Cookie": cookie} if cookie else {}
        with pytest.raises(websockets.exceptions.InvalidStatus) as error:
            async with server.ws_connect(
                host, path, origin=f"http://{host}:{server.port}", additional_headers=headers
            ):
                pass
        return error.value.response.status_code

    async def scenario() -> None:
        assert await refused(acme.host, d_cookie) == 403  # rank D may not see this seminar
        assert await refused(acme.host, None) == 403  # not signed in
        assert await refused(globex.host, a_cookie) == 403  # acme's session on globex

    asyncio.run(scenario())


def book_burst(schema: str, candidate_ids: list[int], slot_id: int) -> float:
    """Ten bookings back to one another, each its own transaction; returns how long the burst took."""
    from django.db import connection

    from booking.services import booking_create

    started = time.monotonic()
    try:
        with schema_context(schema):
            for candidate in Candidate.objects.filter(pk__in=candidate_ids):
                assert booking_create(candidate=candidate, slot_id=slot_id).kind == "booked"
    finally:
        connection.close()
    return time.monotonic() - started


def test_pushes_are_coalesced_and_end_on_the_latest_value(live_server_daphne, tenants, live_seminar):
    server = live_server_daphne
    acme, seminar, slot, tokens, people = live_seminar
    with schema_context(acme.schema):
        slot_quotas_set(slot=slot, quotas={"A": 12, POOL: 0})
    chosen = [people[f"a_book{i}"].pk for i in range(10)]
    path = f"/ws/seminars/{seminar.pk}/"
    origin = f"http://{acme.host}:{server.port}"
    watcher, _ = sign_in(server, acme.host, tokens["a_watch"], seminar.pk)

    async def scenario() -> tuple[list[dict], float]:
        async with server.ws_connect(
            acme.host, path, origin=origin, additional_headers={"Cookie": watcher}
        ) as ws:
            assert (await _next(ws))["slots"] == {str(slot.pk): 12}
            await asyncio.sleep(0.6)  # the quota edit's own push has gone by
            while True:
                try:
                    await _next(ws, 0.05)
                except TimeoutError:
                    break
            burst = await asyncio.to_thread(book_burst, acme.schema, chosen, slot.pk)
            received = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    message = await _next(ws, max(deadline - time.monotonic(), 0.01))
                except TimeoutError:
                    break
                received.append(message)
                if message["slots"] == {str(slot.pk): 2}:
                    break
            return received, burst

    received, burst = asyncio.run(scenario())
    assert received, "no push after ten bookings"
    # Always the latest value in the end, however the pushes were cut.
    assert received[-1]["slots"] == {str(slot.pk): 2}
    # Ten bookings, far fewer pushes: at most one per window of 0.25 s (plus the one in flight).
    assert len(received) <= int(burst / 0.25) + 2, (len(received), burst)
    assert len(received) < 10
