"""Tenants: client companies, their domains and provisioning (public schema)."""

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "テナント"
