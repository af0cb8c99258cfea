"""Websocket routes (every route sits behind TenantWebsocketMiddleware)."""

from django.urls import path

from booking.consumers import SeminarSeatsConsumer, StudentEventsConsumer
from notifications.consumers import RecruiterEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", RecruiterEventsConsumer.as_asgi()),
    path("ws/my/events/", StudentEventsConsumer.as_asgi()),
    path("ws/seminars/<int:seminar_id>/", SeminarSeatsConsumer.as_asgi()),
]
