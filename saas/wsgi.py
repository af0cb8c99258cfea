"""WSGI entry point for plain-HTTP worker processes (e.g. gunicorn behind the proxy)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
application = get_wsgi_application()
