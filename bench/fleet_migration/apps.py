"""A tenant app installed only for `make bench-fleet` (SAAS_BENCH_FLEET_MIGRATION=1): one real migration that
adds a column and an index to every company's candidates table, deployed by `manage.py bootstrap`."""

from django.apps import AppConfig


class FleetMigrationConfig(AppConfig):
    name = "bench.fleet_migration"
    label = "fleet_migration"
    default_auto_field = "django.db.models.BigAutoField"
