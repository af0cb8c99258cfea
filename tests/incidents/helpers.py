"""Helpers shared by the incidents tests: signed-in clients per company, a channel-layer listener, outbox rows."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager

from channels.layers import get_channel_layer
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from notifications.models import OutboxMessage
from notifications.services import RECRUITER_GROUP
from tenants.websocket import tenant_group


def tenant_client(info, *, email: str | None = None) -> Client:
    client = Client(HTTP_HOST=info.host)
    with schema_context(info.schema):
        client.force_login(User.objects.get(email=email or info.admin_email))
    return client


def outbox_rows(info) -> list[dict]:
    """The mails queued in one company's outbox, oldest first (what incidents hand to notifications)."""
    with schema_context(info.schema):
        return list(
            OutboxMessage.objects.order_by("id").values(
                "to_address", "subject", "body", "kind", "candidate_id", "status", "idempotency_key"
            )
        )


@contextmanager
def group_listener(tenants_by_name: dict, seconds: float = 2.0):
    """Subscribe to each company's recruiter group on the real channel layer; yields name → events list."""
    received: dict[str, list[dict]] = {name: [] for name in tenants_by_name}
    ready = threading.Event()
    stop = threading.Event()

    async def listen() -> None:
        layer = get_channel_layer()
        channels = {}
        for name, tenant in tenants_by_name.items():
            channel = await layer.new_channel()
            await layer.group_add(tenant_group(tenant, RECRUITER_GROUP), channel)
            channels[name] = channel
        ready.set()

        async def pump(name: str, channel: str) -> None:
            while True:
                message = await layer.receive(channel)
                received[name].append(message["event"])

        tasks = [asyncio.create_task(pump(name, channel)) for name, channel in channels.items()]
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await asyncio.sleep(seconds)  # late messages (to another company) would arrive by now
        for task in tasks:
            task.cancel()
        for name, tenant in tenants_by_name.items():
            await layer.group_discard(tenant_group(tenant, RECRUITER_GROUP), channels[name])

    thread = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
    thread.start()
    assert ready.wait(10), "channel layer listener did not start"
    try:
        yield received
    finally:
        stop.set()
        thread.join(seconds + 10)
