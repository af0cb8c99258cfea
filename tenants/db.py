"""Database connections of their own, outside Django's pool, for locks held through a whole operation."""

from __future__ import annotations

import psycopg
from django.db import connection


def dedicated_connection() -> psycopg.Connection:
    """A new autocommit connection with Django's settings: a session-level advisory lock taken on it is
    not lost when Django's pooled connection is swapped or closed mid-operation."""
    params = connection.get_connection_params()
    for key in ("pool", "cursor_factory", "context", "prepare_threshold", "server_side_binding"):
        params.pop(key, None)
    return psycopg.connect(autocommit=True, **params)
