"""Accounts: support staff in the public schema, recruiters in each tenant's schema."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("アカウント")

    def ready(self) -> None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from saas.sealing import seal_existing_field

        # TOTP keys are stored sealed (saas/sealing.py); django-otp's model keeps its class and migrations.
        seal_existing_field(TOTPDevice._meta.get_field("key"), hex_value=True)
