"""Recovery: continuous archiving, point-in-time and per-company restores, standby promotion, drills."""

from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "バックアップと復旧"
