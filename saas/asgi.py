"""ASGI entry point: Django for HTTP, Channels for websockets, both routed to the tenant of the Host."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from saas.bodylimit import BodyLimitMiddleware  # noqa: E402
from saas.websocket_urls import websocket_urlpatterns  # noqa: E402
from tenants.websocket import TenantWebsocketMiddleware  # noqa: E402


def build_application(routes: list) -> ProtocolTypeRouter:
    websocket_app = TenantWebsocketMiddleware(URLRouter(routes))
    if settings.SENTRY_DSN:
        # Consumer errors reach Sentry through the same scrubbing as HTTP errors.
        from sentry_sdk.integrations.asgi import SentryAsgiMiddleware

        websocket_app = SentryAsgiMiddleware(websocket_app)  # type: ignore[assignment]
    # Under daphne (saas/serve.py) an oversized body never gets here; under any server that streams bodies
    # to the application the middleware refuses it by its declared length or as it streams in.
    return ProtocolTypeRouter({"http": BodyLimitMiddleware(django_asgi_app), "websocket": websocket_app})


application = build_application(websocket_urlpatterns)
