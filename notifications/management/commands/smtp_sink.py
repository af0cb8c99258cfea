"""A local SMTP server for the demo: every mail it receives is kept as a file under .data/mail/."""

from __future__ import annotations

import asyncio
import signal

from aiosmtpd.controller import Controller
from django.core.management.base import BaseCommand

from notifications.sink import MailboxHandler, mailbox_dir


class Command(BaseCommand):
    help = "Run an SMTP server (aiosmtpd) that stores received mails for the demo page /demo/mail/."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)

    def handle(self, *args, host: str, port: int, **options) -> None:
        directory = mailbox_dir()
        controller = Controller(MailboxHandler(directory), hostname=host, port=port)
        controller.start()
        self.stdout.write(f"SMTP sink on {host}:{port}, mails stored in {directory}")
        stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            loop.run_until_complete(stop.wait())
        finally:
            controller.stop()
            loop.close()
