"""Tenant provisioning: create a company (schema copied from a template), invite its first admin, delete it."""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from accounts.models import Role, User
from accounts.services import user_invite
from tenants import exports, signals
from tenants.cloning import quote_identifier, template_key, tenant_schema_create
from tenants.db import dedicated_connection
from tenants.errors import TenantError
from tenants.migrate.apply import ApplyOptions, schema_apply
from tenants.migrate.plan import fleet_plan
from tenants.models import Domain, Tenant
from tenants.selectors import host_cache_clear

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
SLUG_MESSAGE = gettext_lazy("サブドメインは半角英小文字・数字・ハイフンで 3〜40 文字、英字で始めてください。")
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
                raise TenantError(
                    _("テンプレートスキーマを移行できません: %(problem)s") % {"problem": plan.problem}
                )
            if plan.pending:
                result = schema_apply(plan=plan, options=options or ApplyOptions())
                if not result.ok:
                    raise TenantError(
                        _("テンプレートスキーマの移行に失敗しました: %(error)s") % {"error": result.error}
                    )
            _template_verified(remember=True)
            return plan.pending
        finally:
            connection.set_schema_to_public()  # type: ignore[attr-defined]


_template_up_to_date: set[tuple[Any, ...]] = set()


def _template_verified(*, remember: bool = False) -> tuple[Any, ...] | None:
    """The template's migration state if this process found it up to date in that state (or records it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s) IS NOT NULL",
            [f"{quote_identifier(settings.TENANT_BASE_SCHEMA)}.django_migrations"],
        )
        if not cursor.fetchone()[0]:
            return None
        key = (connection.settings_dict["NAME"], *template_key(cursor))
    if remember:
        _template_up_to_date.add(key)
    return key if key in _template_up_to_date else None


def _validate(*, name: str, slug: str, admin_email: str) -> None:
    if not name.strip():
        raise TenantError(_("会社名を入力してください。"))
    if not SLUG_RE.match(slug):
        raise TenantError(str(SLUG_MESSAGE))
    if slug in RESERVED_SLUGS:
        raise TenantError(_("「%(slug)s」は予約されているため使えません。") % {"slug": slug})
    if "@" not in admin_email:
        raise TenantError(_("管理者のメールアドレスが正しくありません。"))
    if Tenant.objects.filter(slug=slug).exists():
        raise TenantError(_("サブドメイン「%(slug)s」はすでに使われています。") % {"slug": slug})


def tenant_domain(*, slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def tenant_create(*, name: str, slug: str, admin_email: str, actor: Any = "system") -> TenantCreated:
    """Provision a company: schema, domain, and an invitation for its first admin; `actor` is audited."""
    started = time.perf_counter()
    slug = slug.strip()
    if not slug.isascii():
        # str.lower() folds some non-ASCII letters to ASCII (the Kelvin sign K becomes k): refuse, never fold.
        raise TenantError(str(SLUG_MESSAGE))
    slug = slug.lower()
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
    signals.tenant_created.send(sender=Tenant, tenant=tenant, actor=actor)
    return TenantCreated(
        tenant=tenant,
        domain=tenant_domain(slug=slug),
        invite_url=invite_url,
        seconds=time.perf_counter() - started,
    )


def _schema_drop(schema_name: str) -> None:
    if schema_name == get_public_schema_name() or schema_name == settings.TENANT_BASE_SCHEMA:
        raise TenantError(_("このスキーマは削除できません。"))
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


def tenant_export(*, tenant: Tenant, directory: Path | None = None) -> Path:
    """Write every row of the tenant's schema as JSON (Django fixtures), gzipped and sealed to the backups'
    recipient (tenants/exports.py), and return the file."""
    directory = directory or exports.export_directory()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"{tenant.slug}-{stamp}.json.gz.age"
    labels = [
        app.split(".")[-1]
        for app in settings.TENANT_APPS
        if not app.startswith("django.contrib.contenttypes")
    ]
    buffer = io.StringIO()
    with schema_context(tenant.schema_name):
        call_command("dumpdata", *labels, format="json", stdout=buffer, verbosity=0)
    exports.export_seal(text=buffer.getvalue(), path=path)
    exports.exports_prune(directory=directory)
    return path


def tenant_delete(
    *, tenant: Tenant, confirm_slug: str, export_directory: Path | None = None, actor: Any = "system"
) -> Path:
    """Export the tenant's data, then drop its schema and domains; needs the slug typed as confirmation;
    `actor` is audited."""
    if confirm_slug.strip() != tenant.slug:
        raise TenantError(_("確認のため、削除する会社のサブドメインを正確に入力してください。"))
    if tenant.schema_name == get_public_schema_name():
        raise TenantError(_("このスキーマは削除できません。"))
    path = tenant_export(tenant=tenant, directory=export_directory)
    _schema_drop(tenant.schema_name)
    tenant.delete()
    host_cache_clear()
    signals.tenant_deleted.send(sender=Tenant, tenant=tenant, actor=actor, export=path.name)
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
