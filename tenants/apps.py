"""Tenants: client companies, their domains and provisioning (public schema)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("テナント")
