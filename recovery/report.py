"""What a database holds, for restore reports and drills: companies, rows per company, migration state."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""


@dataclass
class CompanyRows:
    slug: str
    schema: str
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.tables.values())


@dataclass
class PlatformReport:
    companies: list[CompanyRows]
    public_rows: dict[str, int]
    migrations_missing: dict[str, list[str]]  # schema -> migrations the code has that the schema lacks

    @property
    def migrations_current(self) -> bool:
        return not any(self.migrations_missing.values())

    def rows_by_company(self) -> dict[str, int]:
        return {company.slug: company.total for company in self.companies}


def _code_migrations(apps: list[str]) -> set[tuple[str, str]]:
    labels = {app.split(".")[-1] for app in apps}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {key for key in loader.disk_migrations if key[0] in labels}


def _counts(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    counts = {}
    for (table,) in conn.execute(_TABLES, [schema]).fetchall():
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        counts[table] = conn.execute(query).fetchone()[0]
    return counts


def _applied(conn: psycopg.Connection, schema: str) -> set[tuple[str, str]]:
    query = sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(schema))
    return {tuple(row) for row in conn.execute(query).fetchall()}


def platform_report(conn: psycopg.Connection, *, slugs: list[str] | None = None) -> PlatformReport:
    """Read inside the caller's transaction (REPEATABLE READ gives one consistent picture)."""
    tenants = conn.execute(
        "SELECT slug, schema_name FROM public.tenants_tenant WHERE schema_name <> 'public' ORDER BY slug"
    ).fetchall()
    if slugs is not None:
        tenants = [row for row in tenants if row[0] in slugs]
    tenant_code = _code_migrations(settings.TENANT_APPS)
    shared_code = _code_migrations(settings.SHARED_APPS)
    companies, missing = [], {}
    for slug, schema in tenants:
        companies.append(CompanyRows(slug=slug, schema=schema, tables=_counts(conn, schema)))
        missing[schema] = sorted(f"{app}.{name}" for app, name in tenant_code - _applied(conn, schema))
    missing["public"] = sorted(f"{app}.{name}" for app, name in shared_code - _applied(conn, "public"))
    return PlatformReport(
        companies=companies, public_rows=_counts(conn, "public"), migrations_missing=missing
    )


def report_text(report: PlatformReport, *, limit: int = 20) -> str:
    lines = [f"companies: {len(report.companies)}, rows: {sum(c.total for c in report.companies):,}"]
    for company in report.companies[:limit]:
        lines.append(f"  {company.slug:<20} {company.total:>10,} rows")
    if len(report.companies) > limit:
        lines.append(f"  … {len(report.companies) - limit} more")
    lines.append(
        "migrations: every schema is current"
        if report.migrations_current
        else "migrations missing: "
        + "; ".join(
            f"{schema}: {', '.join(names)}" for schema, names in report.migrations_missing.items() if names
        )
    )
    return "\n".join(lines)
