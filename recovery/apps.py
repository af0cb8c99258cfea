"""Recovery: continuous archiving, point-in-time and per-company restores, standby promotion, drills."""

from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "バックアップと復旧"

    def ready(self) -> None:
        from recovery.crypto import keys_ensure
        from tenants.exports import export_recipient_provider_set

        # A deleted company's export is sealed to the backups' recipient (tenants/exports.py).
        export_recipient_provider_set(keys_ensure)
