"""The rush page through the production layout (nginx + the rush workers, deploy/stack.py): the proxy answers
a rank's page loads from its copy, and only under the view token of that rank."""

from __future__ import annotations

import httpx
import pytest
from django_tenants.utils import schema_context

from booking.models import Seminar
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
