"""The demo's mailbox: an aiosmtpd handler writing each received mail to a file, and a reader for the page."""

from __future__ import annotations

import email
import email.policy
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


def mailbox_dir() -> Path:
    directory = Path(os.environ.get("SMTP_SINK_DIR", settings.BASE_DIR / ".data" / "mail"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class MailboxHandler:
    """aiosmtpd handler: accept every recipient, store the raw message atomically (write, then rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.directory / f".{name}.tmp"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.directory / name)
        return "250 OK"


@dataclass
class ReceivedMail:
    name: str
    received_at: float
    sender: str
    to: str
    subject: str
    body: str
    headers: dict[str, str]
    list_unsubscribe: str


def mailbox_list(*, limit: int = 50) -> list[ReceivedMail]:
    """Newest first."""
    files = sorted(mailbox_dir().glob("*.eml"), reverse=True)[:limit]
    return [mailbox_read(path) for path in files]


def mailbox_read(path: Path) -> ReceivedMail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    body = part.get_content() if part is not None else ""
    return ReceivedMail(
        name=path.name,
        received_at=int(path.name.split("-")[0]) / 1e9,
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        body=body,
        headers={key: str(value) for key, value in message.items()},
        list_unsubscribe=str(message.get("List-Unsubscribe", "")),
    )
