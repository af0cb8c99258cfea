"""A daphne app for the Sentry test: the product's own stack plus one view and one consumer that fail."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.sentry_settings")

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from django.urls import path  # noqa: E402

from saas.asgi import build_application  # noqa: E402
from saas.websocket_urls import websocket_urlpatterns  # noqa: E402


class FailingConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        student_email = "hanako.yamada@example.ac.jp"  # noqa: F841 - local variables must not be sent
        raise RuntimeError(f"consumer failed for {text_data}")


application = build_application([*websocket_urlpatterns, path("ws/fail/", FailingConsumer.as_asgi())])
