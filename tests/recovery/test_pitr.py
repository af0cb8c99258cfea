"""Point-in-time restore: a full and an incremental backup, more writes, a restore to a moment between them."""

from __future__ import annotations

import time
import uuid

import psycopg
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from candidates.models import Candidate

ROWS = "SELECT * FROM {schema}.candidates_candidate WHERE email LIKE %s ORDER BY id"


def _candidates(marker: str, names: list[str]) -> None:
    for name in names:
        Candidate.objects.create(
            family_name="復元",
            given_name=name,
            family_kana="フクゲン",
            given_kana="テスト",
            email=f"{marker}-{name}@example.jp",
            rank="B",
        )


def _rows(conninfo: str, schema: str, marker: str) -> list[tuple]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(ROWS.format(schema=schema), [f"{marker}-%"]).fetchall()


def test_restore_to_a_moment_between_writes_gives_exactly_the_rows_of_that_moment(
    archive, tenants, committed, scratch
):
    schema = tenants["acme"].schema
    marker = f"pitr-{uuid.uuid4().hex[:10]}"
    source = archive.config.source_for(dbname=connection.settings_dict["NAME"])
    full = archive.take(kind="full")
    try:
        with schema_context(schema):
            _candidates(marker, ["a1", "a2", "a3"])
        incremental = archive.take(kind="incremental")
        assert (incremental.kind, incremental.parent) == ("incremental", full.id)
        assert incremental.verified and incremental.stored_bytes < full.stored_bytes
        with schema_context(schema):
            _candidates(marker, ["b1", "b2"])
            Candidate.objects.filter(email=f"{marker}-a1@example.jp").update(given_name="changed")
        at_moment = _rows(source, schema, marker)
        time.sleep(0.3)
        moment = timezone.now()
        time.sleep(0.3)
        with schema_context(schema):
            _candidates(marker, ["c1"])
            Candidate.objects.filter(email=f"{marker}-a2@example.jp").delete()
            Candidate.objects.filter(email=f"{marker}-b1@example.jp").update(given_name="later")
        after = _rows(source, schema, marker)
        archive.archive_now()

        restored = archive.restore(scratch / "pitr", target=moment)
        try:
            assert restored.backup_ids == [full.id, incremental.id]
            assert restored.reached is not None and restored.reached < moment
            rows = _rows(
                restored.cluster.server.conninfo(dbname=connection.settings_dict["NAME"]), schema, marker
            )
            # Exactly the rows of the moment: b1/b2 there, a1 changed, a2 not yet deleted, c1 absent.
            assert rows == at_moment and rows != after
            assert {row for row in rows if "changed" in row} and len(rows) == 5
            # The restored copy is a primary of its own: it takes writes.
            with restored.cluster.server.connect(dbname=connection.settings_dict["NAME"]) as conn:
                assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
                conn.execute(
                    f"DELETE FROM {schema}.candidates_candidate WHERE email LIKE %s", [f"{marker}-%"]
                )
        finally:
            restored.cluster.remove()
    finally:
        with schema_context(schema):
            Candidate.objects.filter(email__startswith=marker).delete()
