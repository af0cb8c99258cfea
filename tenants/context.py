"""Tenant context, made explicit: the companies there are, and running something inside each of them.

Every "for every company" loop of the product goes through `for_each_tenant` (or reads `tenant_schemas`);
entering one company is django-tenants' `schema_context(schema)`, which puts the connection back where it
was on the way out. Nothing outside tenants/ sets the connection's tenant by hand (tests/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django_tenants.utils import get_public_schema_name, schema_context

from tenants.selectors import tenant_all

T = TypeVar("T")


def tenant_schemas() -> list[str]:
    """Every company's schema name (never the public schema), read from the public schema."""
    with schema_context(get_public_schema_name()):
        return list(tenant_all().values_list("schema_name", flat=True))


def for_each_tenant(work: Callable[[str], T]) -> dict[str, T]:
    """Run `work(schema)` inside each company's schema in turn; its results by schema name."""
    results: dict[str, T] = {}
    for schema in tenant_schemas():
        with schema_context(schema):
            results[schema] = work(schema)
    return results
