"""Accounts: support staff in the public schema, recruiters in each tenant's schema."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "アカウント"
