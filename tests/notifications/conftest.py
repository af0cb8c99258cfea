"""Fixtures for the notifications tests: a real SMTP server (aiosmtpd) and students in a tenant schema."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from django_redis import get_redis_connection

from notifications.keys import rate_bucket_key
from tests.conftest import free_port


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: records every accepted message; `rules` maps an address to a forced reply."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        rule = self.rules.get(address)
        if rule:
            return rule
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(message["Message-ID"]) for message in self.messages]


@dataclass
class SmtpServer:
    port: int
    recorder: SmtpRecorder


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on a free port, with Django's SMTP backend pointed at it."""
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield SmtpServer(port=port, recorder=recorder)
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_rate_buckets(tenants) -> None:
    client = get_redis_connection("default")
    for info in tenants.values():
        client.delete(rate_bucket_key(schema_name=info.schema))


def make_candidate(**fields):
    """A student (tests/factories.py::CandidateFactory) with the notifications tests' usual values."""
    from tests.factories import CandidateFactory

    defaults = {
        "given_name": "太郎",
        "email": "taro@example.jp",
        "graduation_year": 2027,
        "status": "entry",
    }
    defaults.update(fields)
    return CandidateFactory(**defaults)
