"""The rush path served by its own uvicorn processes (booking/rush/asgi.py): the same answers as under Django."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from django_tenants.utils import schema_context

from booking.models import Booking, BookingStatus, Seminar
from booking.rush import passes
from booking.seatcounter import SeatCounter
from deploy import layout
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make
from tests.conftest import ROOT, free_port, server_env, stop_process, wait_for_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rush_server(tenants):
    port = free_port()
    env = server_env()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "booking.rush.asgi:application",
            "--port",
            str(port),
            "--workers",
            "2",
            "--loop",
            "uvloop",
            "--http",
            layout.RUSH_HTTP,
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    yield f"http://127.0.0.1:{port}"
    stop_process(process)


def test_uvicorn_rush_app_books_refuses_and_serves_the_page(rush_server, tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 2}, capacity=2)
        Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
        slot = seminar.slots.first()
        first, second, third = (candidate_make(rank="A") for _ in range(3))
    try:

        def post(candidate, *, schema: str = acme.schema, host: str = acme.host):
            cookie = passes.student_pass_issue(
                schema=schema, candidate_id=candidate.pk, rank="A", season_id=candidate.season_id
            )
            return httpx.post(
                f"{rush_server}/my/rush/{seminar.pk}/book",
                json={"slot": slot.pk},
                headers={
                    "Host": host,
                    "X-Requested-With": "rush",
                    "Cookie": f"{passes.STUDENT_COOKIE}={cookie}",
                },
                timeout=10,
            )

        # The first request warms this process's caches (thread path); the next ones are decided on the
        # event loop, the winner's write on a thread.
        booked = post(first)
        assert booked.status_code == 200 and booked.json()["code"] == "booked"
        again = post(second)
        assert again.status_code == 200 and again.json()["code"] == "booked"
        assert post(second).json()["code"] == "already_booked"
        full = post(third)
        assert full.status_code == 409 and full.json() == {
            "ok": False,
            "code": "full",
            "message": full.json()["message"],
            "others": False,
            "waitlist_url": f"/my/seminars/{seminar.pk}/",
        }
        assert "満席" in full.json()["message"]
        # A pass of another company, and an unknown host, get nothing.
        assert post(third, schema=tenants["globex"].schema).status_code == 403
        assert post(third, host="nobody.localhost").status_code == 404
        health = httpx.get(f"{rush_server}/my/rush/health", headers={"Host": acme.host})
        assert health.text == "ok"
        with schema_context(acme.schema):
            page = httpx.get(
                f"{rush_server}/my/rush/{seminar.pk}/",
                headers={"Host": acme.host},
                cookies={
                    passes.STUDENT_COOKIE: passes.student_pass_issue(
                        schema=acme.schema, candidate_id=first.pk, rank="A", season_id=first.season_id
                    )
                },
            )
            assert page.status_code == 200 and f'data-slot="{slot.pk}"' in page.text
            assert page.headers["cache-control"] == "no-store, private"
            rows = list(Booking.objects.filter(seminar=seminar, status=BookingStatus.ACTIVE))
            assert sorted(row.candidate_id for row in rows) == sorted([first.pk, second.pk])
            assert SeatCounter(seminar_id=seminar.pk, schema=acme.schema).reconcile() == []
    finally:
        rush_seminar_remove(schema=acme.schema, seminar=seminar)
