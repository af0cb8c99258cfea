"""Concurrency proof: hundreds of simultaneous bookings against a running daphne never overbook."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from django.db.models import Count
from django_tenants.utils import schema_context

from booking.models import POOL, Booking, BookingStatus, Seminar, SlotQuota
from booking.seatcounter import SeatCounter
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make

STUDENTS = {"A": 90, "B": 40, "C": 30}


def _setup(schema: str):
    with schema_context(schema):
        seminar = seminar_make(
            title="同時予約テスト", quotas={"A": 20, "B": 10, POOL: 10}, slots=2, capacity=40
        )
        students = []
        for rank, count in STUDENTS.items():
            for _ in range(count):
                candidate = candidate_make(rank=rank)
                students.append((candidate.pk, mypage_token_create(candidate=candidate)))
        return seminar, list(seminar.slots.values_list("id", flat=True)), students


def _cleanup(schema: str, seminar_id: int, candidate_ids: list[int]) -> None:
    with schema_context(schema):
        Booking.objects.filter(seminar_id=seminar_id).delete()
        Seminar.objects.filter(pk=seminar_id).delete()
        Candidate.objects.filter(pk__in=candidate_ids).delete()


async def _sign_in(http: httpx.AsyncClient, token: str, csrf: str, gate: asyncio.Semaphore) -> str:
    """The Cookie header of a student who followed their personal link and pressed its button."""
    async with gate:
        login = await http.post(
            f"/my/login/{token}/",
            data={"csrfmiddlewaretoken": csrf},
            headers={"Cookie": f"csrftoken={csrf}"},
        )
        assert login.status_code == 302, login.text[:200]
        return f"sessionid={login.cookies['sessionid']}; csrftoken={csrf}"


async def _book(http: httpx.AsyncClient, cookie: str, slot_id: int) -> tuple[int, dict]:
    csrf = cookie.rsplit("csrftoken=", 1)[1]
    response = await http.post(
        "/my/book/",
        data={"slot": slot_id, "csrfmiddlewaretoken": csrf},
        headers={"Accept": "application/json", "Cookie": cookie},
    )
    return response.status_code, response.json()


@pytest.mark.slow
def test_hundreds_of_concurrent_bookings_never_overbook(live_server_daphne, tenants, committed):
    acme = tenants["acme"]
    seminar, slot_ids, students = _setup(acme.schema)
    try:

        async def rush():
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{live_server_daphne.port}",
                headers={"Host": f"{acme.host}:{live_server_daphne.port}"},
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                timeout=60,
            ) as http:
                # One CSRF cookie for everyone (Django pairs it with the form token, not with the session).
                csrf = (await http.get("/my/link/")).cookies["csrftoken"]
                gate = asyncio.Semaphore(32)
                cookies = await asyncio.gather(*(_sign_in(http, token, csrf, gate) for _, token in students))
                http.cookies.clear()
                # The opening second: every student clicks both slots and double-clicks the first,
                # all 480 requests at once over 100 connections.
                requests = [
                    _book(http, cookie, slot_id)
                    for cookie in cookies
                    for slot_id in (slot_ids[0], slot_ids[1], slot_ids[0])
                ]
                return await asyncio.gather(*requests)

        results = asyncio.run(rush())
        answers = results
        statuses = Counter(status for status, _ in answers)
        codes = Counter(body["code"] for _, body in answers)
        assert len(answers) == 3 * sum(STUDENTS.values()) == 480
        assert all(status in (200, 409) for status in statuses), statuses
        assert set(codes) <= {"booked", "full", "already_booked"}, codes

        with schema_context(acme.schema):
            quotas = list(SlotQuota.objects.filter(slot_id__in=slot_ids))
            active = Booking.objects.filter(seminar=seminar, status=BookingStatus.ACTIVE)
            for quota in quotas:
                assert quota.taken <= quota.seats
                assert quota.taken == active.filter(quota=quota).count()
            # Demand (160 students) exceeds the 80 seats: every quota row is sold out, none over.
            assert all(quota.taken == quota.seats for quota in quotas)
            assert active.count() == codes["booked"] == 80
            assert not active.values("candidate").annotate(n=Count("id")).filter(n__gt=1).exists()
            per_rank = Counter(active.values_list("quota__rank", flat=True))
            assert per_rank == {"A": 40, "B": 20, POOL: 20}
            # Only ranks A and B have their own rows; rank C got in through the shared pool only.
            assert not active.filter(candidate__rank="C").exclude(quota__rank=POOL).exists()
            # The requests were decided by the Redis seat counters, and they agree with PostgreSQL.
            counter = SeatCounter(seminar_id=seminar.pk, schema=acme.schema)
            assert counter.client.exists(counter.ready_key)
            assert counter.reconcile() == []
    finally:
        _cleanup(acme.schema, seminar.pk, [pk for pk, _ in students])
