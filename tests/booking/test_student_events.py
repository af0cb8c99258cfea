"""The My Page's socket (/ws/my/events/): signed-in students only; company-wide pushes reach that company's
students only, and a personal push reaches that student only."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from django.conf import settings
from django_tenants.utils import schema_context

from candidates.models import Candidate
from notifications.services import student_push, students_push_many
from tests.booking.conftest import mypage_session_key
from tests.factories import CandidateFactory

PATH = "/ws/my/events/"


def _cookie(schema: str, candidate) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={mypage_session_key(schema=schema, candidate=candidate)}"


async def _recv(socket, timeout: float) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


def test_students_sockets_get_their_company_and_their_own_pushes_only(live_server_daphne, tenants, committed):
    server = live_server_daphne
    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(acme.schema):
        first, second = CandidateFactory(rank="A"), CandidateFactory(rank="B")
    with schema_context(globex.schema):
        other = CandidateFactory(rank="A")
    cookies = [_cookie(acme.schema, first), _cookie(acme.schema, second), _cookie(globex.schema, other)]

    def connect(info, cookie):
        origin = f"http://{info.host}:{server.port}"
        return server.ws_connect(info.host, PATH, origin=origin, additional_headers={"Cookie": cookie})

    async def scenario() -> None:
        async with (
            connect(acme, cookies[0]) as on_first,
            connect(acme, cookies[1]) as on_second,
            connect(globex, cookies[2]) as on_other,
        ):
            for socket in (on_first, on_second, on_other):
                assert (await _recv(socket, 5))["type"] == "hello"
            await asyncio.to_thread(
                students_push_many, tenants=[acme.tenant], event={"type": "banner", "text": "acme"}
            )
            assert (await _recv(on_first, 5))["text"] == "acme"
            assert (await _recv(on_second, 5))["text"] == "acme"
            await asyncio.to_thread(
                student_push, tenant=acme.tenant, candidate_id=first.pk, event={"type": "offer", "n": 1}
            )
            assert (await _recv(on_first, 5))["type"] == "offer"
            with pytest.raises(TimeoutError):
                await _recv(on_second, 0.8)
            with pytest.raises(TimeoutError):
                await _recv(on_other, 0.5)
            # The same student id in another company is another student: nothing reaches them.
            await asyncio.to_thread(
                student_push, tenant=acme.tenant, candidate_id=other.pk, event={"type": "offer", "n": 2}
            )
            with pytest.raises(TimeoutError):
                await _recv(on_other, 0.5)

    try:
        asyncio.run(scenario())
    finally:
        with schema_context(acme.schema):
            Candidate.objects.filter(pk__in=[first.pk, second.pk]).delete()
        with schema_context(globex.schema):
            Candidate.objects.filter(pk=other.pk).delete()


def test_without_a_my_page_session_the_socket_is_refused(live_server_daphne, tenants):
    server = live_server_daphne
    acme = tenants["acme"]

    async def scenario() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with server.ws_connect(
                acme.host,
                PATH,
                origin=f"http://{acme.host}:{server.port}",
                additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}=not-a-session"},
            ):
                pass

    asyncio.run(scenario())
