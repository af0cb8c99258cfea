"""Receivers of documented signals: Django's failed sign-in and accounts' foreign session (leak signals),
tenants' company created and deleted (the support staff's audit)."""

from __future__ import annotations

import logging
from typing import Any

from django_tenants.utils import get_public_schema_name

logger = logging.getLogger(__name__)


def login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return
    from accounts.selectors import user_active_exists
    from accounts.throttle import account_digest, client_address
    from incidents.services.leak import leak_check_failed_signin

    try:
        username = str(credentials.get("username") or credentials.get("email") or "")
        if not username or not user_active_exists(email=username):
            return  # no such account: noise, not a sign of a leak
        leak_check_failed_signin(
            tenant=tenant, account=account_digest(username), address=client_address(request)
        )
    except Exception:  # the sign-in page must answer whatever happens here
        logger.exception("failed sign-in signal not recorded")


def foreign_session(sender: Any, *, owner: Any, presented_on: Any, what: str, **kwargs: Any) -> None:
    """accounts.signals.foreign_session_presented: a private data incident for the owning company."""
    from incidents.services.leak import leak_foreign_token

    leak_foreign_token(owner=owner, presented_on=presented_on, what=what)


def tenant_audit(
    sender: Any, *, signal: Any, tenant: Any, actor: Any, export: str = "", **kwargs: Any
) -> None:
    """tenants.signals.tenant_created / tenant_deleted: who created or deleted which company."""
    from incidents.services.audit import staff_audit
    from tenants import signals

    created = signal is signals.tenant_created
    detail = {"slug": tenant.slug, "name": tenant.name, "schema": tenant.schema_name}
    if export:
        detail["export"] = export
    staff_audit(
        actor=actor,
        action="tenant.create" if created else "tenant.delete",
        target=f"Tenant:{tenant.slug}",
        detail=detail,
    )
