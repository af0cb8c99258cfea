"""Websocket routes (every route sits behind TenantWebsocketMiddleware)."""

from django.urls import path

from notifications.consumers import RecruiterEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", RecruiterEventsConsumer.as_asgi()),
]
