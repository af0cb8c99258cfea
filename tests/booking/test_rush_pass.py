"""The rank stays on the server: an opaque pass, the rank's page only to a valid pass, never cached."""

from __future__ import annotations

import base64

from django.test import Client

from booking.models import Seminar
from booking.rush import passes
from booking.rush.state import seminar_state_forget
from booking.services.mypage import mypage_token_create
from tests.booking.conftest import candidate_make
from tests.booking.test_rush import rush, student_client  # noqa: F401 - the rush seminar fixture

MEETING = "https://meet.example.jp/secret-room-42"


def _readable(value: str) -> bytes:
    """Everything a student could read out of a cookie: the text and any base64 piece of it, decoded."""
    found = value.encode()
    for piece in value.replace(":", ".").split("."):
        try:
            found += base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
        except ValueError:
            pass
    return found


def test_the_pass_my_page_hands_out_does_not_show_the_rank(rush, acme_schema):  # noqa: F811
    student = candidate_make(rank="C")
    client = Client(HTTP_HOST=acme_schema.host)
    client.post(f"/my/login/{mypage_token_create(candidate=student)}/")
    value = client.get("/my/").cookies[passes.STUDENT_COOKIE].value
    readable = _readable(value)
    assert f"{student.pk}.C".encode() not in readable and b".C." not in readable
    # The server still reads it; a changed byte or another company's pass does not.
    read = passes.student_pass_read(schema=acme_schema.schema, value=value)
    assert read is not None and (read.candidate_id, read.rank) == (student.pk, "C")
    assert passes.student_pass_read(schema="t_globex", value=value) is None
    tampered = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
    assert passes.student_pass_read(schema=acme_schema.schema, value=tampered) is None


def test_the_rank_page_needs_a_pass_names_no_rank_and_carries_no_meeting_link(rush, acme_schema):  # noqa: F811
    Seminar.objects.filter(pk=rush.pk).update(online_url=MEETING)
    seminar_state_forget()
    student = candidate_make(rank="B")
    page = student_client(acme_schema, student).get(f"/my/rush/{rush.pk}/")
    # Served right here: no redirect to an address that names the rank.
    assert page.status_code == 200 and "Location" not in page
    assert MEETING not in page.content.decode() and "オンライン開催" in page.content.decode()
    assert "no-store" in page["Cache-Control"] and "public" not in page["Cache-Control"]
    # No pass, a forged pass: nothing of the page, and the old per-rank addresses are gone.
    anonymous = Client(HTTP_HOST=acme_schema.host)
    refused = anonymous.get(f"/my/rush/{rush.pk}/")
    assert refused.status_code == 302 and MEETING not in refused.content.decode()
    anonymous.cookies[passes.STUDENT_COOKIE] = "x" * 60
    assert anonymous.get(f"/my/rush/{rush.pk}/").status_code == 302
    old = anonymous.get(f"/my/rush/{rush.pk}/p/B-0123456789abcdef0123/")
    assert old.status_code == 404 and MEETING not in old.content.decode()


def test_the_proxy_may_keep_a_rank_page_only_under_the_view_token_of_that_rank(rush, acme_schema):  # noqa: F811
    seminar_state_forget()
    student = candidate_make(rank="B")
    client = Client(HTTP_HOST=acme_schema.host)
    client.post(f"/my/login/{mypage_token_create(candidate=student)}/")
    cookies = client.get("/my/").cookies
    view = cookies[passes.VIEW_COOKIE]
    assert view["httponly"] and view["samesite"] == "Strict"
    issued = passes.student_pass_read(schema=acme_schema.schema, value=cookies[passes.STUDENT_COOKIE].value)
    assert view.value == passes.view_token(schema=acme_schema.schema, rank="B", issued_at=issued.issued_at)
    # The token names no rank and differs between ranks and companies.
    assert view.value != passes.view_token(schema=acme_schema.schema, rank="A", issued_at=issued.issued_at)
    assert view.value != passes.view_token(schema="t_globex", rank="B", issued_at=issued.issued_at)
    page = client.get(f"/my/rush/{rush.pk}/")
    assert page.status_code == 200 and page["X-Accel-Expires"] == "2"
    # A token copied from a rank-A student, sent with this B pass: the page of B, and the proxy keeps nothing.
    client.cookies[passes.VIEW_COOKIE] = passes.view_token(
        schema=acme_schema.schema, rank="A", issued_at=issued.issued_at
    )
    copied = client.get(f"/my/rush/{rush.pk}/")
    assert copied.status_code == 200 and "X-Accel-Expires" not in copied
    # No token at all: served, never kept.
    del client.cookies[passes.VIEW_COOKIE]
    assert "X-Accel-Expires" not in client.get(f"/my/rush/{rush.pk}/")


def test_my_page_links_to_the_rush_page_without_the_rank_and_is_never_cached(rush, acme_schema):  # noqa: F811
    from datetime import timedelta

    from django.utils import timezone

    Seminar.objects.filter(pk=rush.pk).update(
        online_url=MEETING, opens_at=timezone.now() + timedelta(minutes=5)
    )
    student = candidate_make(rank="B")
    client = Client(HTTP_HOST=acme_schema.host)
    client.post(f"/my/login/{mypage_token_create(candidate=student)}/")
    page = client.get(f"/my/seminars/{rush.pk}/")
    html = page.content.decode()
    assert f'href="/my/rush/{rush.pk}/"' in html and "/p/B-" not in html
    assert "no-store" in page["Cache-Control"]
