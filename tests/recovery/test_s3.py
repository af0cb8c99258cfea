"""BACKUP_URL=s3://…: backups and WAL go to an S3-compatible server (moto's), locked, and restore from it."""

from __future__ import annotations

import subprocess
import sys
import uuid

import boto3
import psycopg
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from candidates.models import Candidate
from recovery.catalog import SEALED, base_backups, wal_objects
from recovery.errors import RecoveryError
from saas.processes import free_port, process_stop, wait_for_port
from tests.recovery.conftest import archive_make

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "recovery-test", "AWS_SECRET_ACCESS_KEY": "recovery-test-secret"}


@pytest.fixture
def s3_endpoint(monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, server)
    yield f"http://127.0.0.1:{port}"
    process_stop(server)


def test_backups_go_to_s3_locked_and_a_restore_reads_them_back(s3_endpoint, scratch, tenants, committed):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="backups", ObjectLockEnabledForBucket=True)
    made = archive_make(scratch, url=f"s3://backups/saas?endpoint={s3_endpoint}")
    marker = f"s3-{uuid.uuid4().hex[:10]}"
    try:
        backup = made.take(kind="full")
        with schema_context(tenants["globex"].schema):
            Candidate.objects.create(
                family_name="S3",
                given_name="復元",
                family_kana="エス",
                given_kana="フク",
                email=f"{marker}@example.jp",
                rank="A",
            )
        made.archive_now()
        store = made.config.store()
        assert [b.id for b in base_backups(store)] == [backup.id] and backup.verified
        assert wal_objects(store)
        key = f"saas/base/{backup.id}/base.tar{SEALED}"
        # Object Lock (compliance mode): not even the backup's own credentials delete or overwrite it.
        version = client.head_object(Bucket="backups", Key=key)
        assert version["ObjectLockMode"] == "COMPLIANCE"
        with pytest.raises(client.exceptions.ClientError):
            client.delete_object(Bucket="backups", Key=key, VersionId=version["VersionId"])
        with pytest.raises(RecoveryError, match="already exists"):
            store.put(f"base/{backup.id}/base.tar{SEALED}", made.identity_file)

        restored = made.restore(scratch / "from-s3")
        try:
            with psycopg.connect(
                restored.cluster.server.conninfo(dbname=connection.settings_dict["NAME"])
            ) as conn:
                found = conn.execute(
                    f"SELECT given_name FROM {tenants['globex'].schema}.candidates_candidate WHERE email = %s",
                    [f"{marker}@example.jp"],
                ).fetchall()
            assert found == [("復元",)]
        finally:
            restored.cluster.remove()
    finally:
        made.archiver.receiver_stop()
        with schema_context(tenants["globex"].schema):
            Candidate.objects.filter(email=f"{marker}@example.jp").delete()
