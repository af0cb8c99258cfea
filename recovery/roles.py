"""Database roles for a deployment: the application's (no way to the server's files) and the backup agent's.

The application role owns the database and its schemas but is no superuser and holds none of
pg_execute_server_program, pg_write_server_files, pg_read_server_files or REPLICATION: from the web or a
worker, nothing can run a program on the database server, write a file there, change the server's
configuration or pull a copy of the cluster. The backup role may stream WAL and take base backups
(REPLICATION), close a quiet WAL segment, write restore points, and read every company's rows for the drill.
"""

from __future__ import annotations

import psycopg
from psycopg import sql


def _role_upsert(conn: psycopg.Connection, *, role: str, attributes: str, password: str) -> sql.Identifier:
    ident = sql.Identifier(role)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    conn.execute(
        sql.SQL("{} ROLE {} " + attributes + " PASSWORD {}").format(
            sql.SQL("ALTER" if exists else "CREATE"), ident, sql.Literal(password)
        )
    )
    return ident


def app_role_create(conn: psycopg.Connection, *, role: str, password: str, database: str) -> None:
    """Create (or tighten) the application's role and give it the database."""
    attributes = "LOGIN NOSUPERUSER NOREPLICATION NOBYPASSRLS CREATEDB"
    ident = _role_upsert(conn, role=role, attributes=attributes, password=password)
    for granted in ("pg_execute_server_program", "pg_write_server_files", "pg_read_server_files"):
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(granted), ident))
    conn.execute(
        sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(database), ident
        )
    )


def backup_role_create(conn: psycopg.Connection, *, role: str, password: str) -> None:
    """Create (or tighten) the backup agent's role: REPLICATION, WAL switch, restore points, read-only data."""
    ident = sql.Identifier(role)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
    conn.execute(
        sql.SQL("{} ROLE {} LOGIN NOSUPERUSER REPLICATION PASSWORD {}").format(
            verb, ident, sql.Literal(password)
        )
    )
    conn.execute(sql.SQL("GRANT pg_read_all_data, pg_monitor TO {}").format(ident))
    for function in ("pg_switch_wal()", "pg_create_restore_point(text)", "pg_backup_start(text, boolean)"):
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(function), ident))
