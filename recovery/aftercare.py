"""After a restore: what lives outside PostgreSQL follows it (Redis seat counters, the company's cache)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django_tenants.utils import schema_context

logger = logging.getLogger("recovery")


def company_caches_reset(*, schema_name: str) -> int:
    """Rebuild every seminar's seat counters from PostgreSQL and drop the company's cached entries."""
    from booking.models import Seminar
    from booking.seatcounter import SeatCounter

    rebuilt = 0
    with schema_context(schema_name):
        for seminar_id in Seminar.objects.values_list("pk", flat=True):
            SeatCounter(seminar_id=seminar_id, schema=schema_name).rebuild()
            rebuilt += 1
        try:
            cache.delete_pattern("*")  # inside the schema context: only this company's keys (make_key)
        except Exception:  # a cache that is away holds nothing to keep in step
            logger.warning("cache of %s not cleared", schema_name)
    return rebuilt
