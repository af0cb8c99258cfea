"""Redis lost mid-rush: booking goes on through PostgreSQL alone, still never overbooking."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis
from django.db.models import Count
from django_tenants.utils import schema_context

from booking.models import POOL, Booking, BookingStatus, Seminar, SlotQuota
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate
from saas.processes import redis_start
from tests.booking.conftest import candidate_make, seminar_make
from tests.conftest import start_daphne, stop_process


def _sign_in(server, host: str, token: str):
    http = server.http(host)
    assert server.mypage_sign_in(http, token).status_code == 302
    return http


def _book(http, slot_id: int) -> tuple[int, str]:
    csrf = http.get("/my/link/").cookies.get("csrftoken") or http.cookies["csrftoken"]
    response = http.post(
        "/my/book/",
        data={"slot": slot_id, "csrfmiddlewaretoken": csrf},
        headers={"Accept": "application/json"},
    )
    return response.status_code, response.json()["code"]


@pytest.mark.slow
def test_redis_lost_mid_rush_falls_back_to_postgres(tenants, committed, tmp_path):
    acme = tenants["acme"]
    redis_port, redis_process = redis_start(folder=tmp_path)
    server = start_daphne(extra_env={"RUSH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"})
    with schema_context(acme.schema):
        seminar = seminar_make(title="障害テスト", quotas={"A": 6, POOL: 2}, capacity=8)
        slot = seminar.slots.get()
        students = [candidate_make(rank="A") for _ in range(14)]
        tokens = [mypage_token_create(candidate=s) for s in students]
    answers: list[tuple[int, str]] = []
    try:
        clients = [_sign_in(server, acme.host, token) for token in tokens]
        for http in clients[:4]:
            answers.append(_book(http, slot.pk))
        assert redis.Redis(port=redis_port).exists(f"{_prefix()}seats:{acme.schema}:{seminar.pk}:ready")
        redis_process.kill()
        redis_process.wait(10)
        started = time.monotonic()
        for http in clients[4:]:
            answers.append(_book(http, slot.pk))
        assert time.monotonic() - started < 30  # slower without Redis is fine; hanging is not
    finally:
        for http in locals().get("clients", []):
            http.close()
        stop_process(server.process)
        if redis_process.poll() is None:
            redis_process.kill()
    codes = Counter(code for _, code in answers)
    assert all(status in (200, 409) for status, _ in answers), answers
    assert codes == {"booked": 8, "full": 6}
    with schema_context(acme.schema):
        active = Booking.objects.filter(seminar=seminar, status=BookingStatus.ACTIVE)
        assert active.count() == 8
        for quota in SlotQuota.objects.filter(slot=slot):
            assert quota.taken == quota.seats == active.filter(quota=quota).count()
        assert not active.values("candidate").annotate(n=Count("id")).filter(n__gt=1).exists()
        Booking.objects.filter(seminar=seminar).delete()
        Seminar.objects.filter(pk=seminar.pk).delete()
        Candidate.objects.filter(pk__in=[s.pk for s in students]).delete()


def _prefix() -> str:
    from django.conf import settings

    return settings.RUSH_KEY_PREFIX
