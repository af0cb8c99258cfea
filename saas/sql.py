"""Statements sent several in one message (PostgreSQL's simple query: one round trip for all of them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connection


def sql_bound(sql: str, params: Sequence[Any]) -> str:
    """`sql` with its parameters bound on the client, quoted as PostgreSQL quotes them (psycopg's
    mogrify), so that it can be joined with others into one message."""
    return str(cast(Any, connection.ops).compose_sql(sql, list(params)))
