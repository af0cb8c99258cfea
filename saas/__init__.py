"""Project package: settings, ASGI routing, URL roots and the Celery app."""

from saas.celery import app as celery_app

__all__ = ["celery_app"]
