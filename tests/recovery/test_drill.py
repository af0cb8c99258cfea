"""`manage.py drill`: the latest backup restored into a scratch server matches the source and takes a booking."""

from __future__ import annotations

from recovery.catalog import base_backups
from recovery.drill import drill_run
from tests.recovery.conftest import archive_make


def test_the_drill_restores_checks_rows_migrations_and_books(scratch, tenants, committed):
    # A store of its own and no agent: the drill receives the WAL itself and takes the backup it needs.
    made = archive_make(scratch)
    made.archiver.receiver_stop()
    result = drill_run(config=made.config, identity_file=made.identity_file, recipient=made.recipient)
    assert result.ok, result.text()
    slugs = set(result.report.rows_by_company())
    assert {"acme", "globex"} <= slugs
    assert result.rows_match and result.migrations_current
    assert result.booking_ok and "booked seat" in result.booking_detail
    assert result.report.rows_by_company()["acme"] > 0
    assert [b.id for b in base_backups(made.config.store())] == result.backup_ids
    assert "drill OK" in result.text()
