"""Sign-in links leave in the student's mail only: the outbox, the mail history and the database never
hold one (the link is minted when the mail is sent; the stored copy says where it was)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role, User
from booking.services import mypage_link_send
from notifications.models import OutboxMessage
from notifications.services import outbox_enqueue
from notifications.services.delivery import outbox_deliver_due
from tests.booking.conftest import candidate_make

LINK = re.compile(r"https?://[^\s/]+(/my/login/[A-Za-z0-9_-]+/)")


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


def _viewer_client(info) -> Client:
    client = Client(HTTP_HOST=info.host)
    with schema_context(info.schema):
        viewer, _ = User.objects.get_or_create(
            username="links-viewer@acme.example.jp",
            defaults={"email": "links-viewer@acme.example.jp", "role": Role.VIEWER},
        )
        client.force_login(viewer)
    return client


def _mails_with_links(info, smtp_server):
    """A sign-in link mail and a step-style mail using 「マイページURL」, both sent over SMTP; their links."""
    with schema_context(info.schema):
        student = candidate_make(rank="A", email="links@example.jp")
        mypage_link_send(candidate=student)
        outbox_enqueue(
            key=f"links-test:{student.pk}",
            to=student.email,
            subject="{{ 姓 }}様 ご案内",
            body="{{ 姓 }} 様\nマイページ: {{ マイページURL }}\n",
            kind="transactional",
            candidate_id=student.pk,
            needs_render=True,
        )
    assert outbox_deliver_due(schema_name=info.schema).sent >= 2
    bodies = [
        message.get_body(preferencelist=("plain",)).get_content()
        for message in smtp_server.recorder.messages
        if message["To"] == "links@example.jp"
    ]
    links = [LINK.search(body).group(1) for body in bodies]
    assert len(links) == 2 and links[0] != links[1]
    return student, links


def test_the_database_holds_no_raw_sign_in_token(acme, smtp_server):
    _student, links = _mails_with_links(acme, smtp_server)
    tokens = [link.split("/")[3] for link in links]
    with schema_context(acme.schema), connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema IN (%s, 'public') AND table_type = 'BASE TABLE'",
            [acme.schema],
        )
        tables = cursor.fetchall()
        assert len(tables) > 20
        for schema, table in tables:
            for token in tokens:
                cursor.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE t::text LIKE %s', [f"%{token}%"]
                )
                assert cursor.fetchone()[0] == 0, f"{schema}.{table} holds a sign-in token"


def test_a_viewers_mail_history_holds_no_working_link(acme, smtp_server):
    student, links = _mails_with_links(acme, smtp_server)
    history = _viewer_client(acme).get(f"/mail/candidates/{student.pk}/")
    html = history.content.decode()
    assert history.status_code == 200 and "マイページへのリンク" in html
    assert "マイページのログインリンク（送信したメールにだけ記載し、保存していません）" in html
    assert "/my/login/" not in html
    for link in links:
        assert link not in html
    with schema_context(acme.schema):
        bodies = " ".join(OutboxMessage.objects.filter(candidate=student).values_list("body", flat=True))
    assert "/my/login/" not in bodies
    # The student's own copies still work, once each.
    student_browser = Client(HTTP_HOST=acme.host)
    assert student_browser.post(links[0]).status_code == 302
