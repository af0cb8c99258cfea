"""Statements sent several in one message (PostgreSQL's simple query: one round trip for all of them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connection


def table_in(schema: str, table: str) -> str:
    """`table` named in a company's schema (the connection's search path not used); as is without one."""
    return f"{connection.ops.quote_name(schema)}.{table}" if schema else table


def sql_bound(sql: str, params: Sequence[Any]) -> str:
    """`sql` with its parameters bound on the client, quoted as PostgreSQL quotes them (psycopg's
    mogrify), so that it can be joined with others into one message."""
    return str(cast(Any, connection.ops).compose_sql(sql, list(params)))
