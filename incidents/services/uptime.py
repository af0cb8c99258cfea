"""The watchdog's probe outcomes, kept per component per day (the status pages' uptime)."""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction

from incidents.models import Component, ProbeDay


@transaction.atomic
def probe_days_add(*, tallies: dict[tuple[str, date], tuple[int, int]]) -> None:
    """Add (probes, failures) counted for (component slug, day): one upsert per component and day."""
    if not tallies:
        return
    components = dict(
        Component.objects.filter(slug__in={slug for slug, _day in tallies}).values_list("slug", "pk")
    )
    table = ProbeDay._meta.db_table
    rows = [
        (components[slug], day, probes, failures)
        for (slug, day), (probes, failures) in sorted(tallies.items())
        if slug in components
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (component_id, day, probes, failures) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (component_id, day) DO UPDATE SET probes = {table}.probes + EXCLUDED.probes, "
            f"failures = {table}.failures + EXCLUDED.failures",
            rows,
        )
