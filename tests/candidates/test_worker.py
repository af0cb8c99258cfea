"""The background import through a real Celery worker process (its own queue, the test database)."""

from __future__ import annotations

import os
import subprocess
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from candidates.models import Candidate
from candidates.services.jobs import import_upload
from candidates.tasks import candidates_import_task
from saas.processes import celery_worker_start
from tests.candidates.conftest import sample_bytes
from tests.conftest import server_env, stop_process


def test_upload_is_imported_by_a_real_worker(tenants, globex_baseline, settings, tmp_path, truth):
    settings.MEDIA_ROOT = str(tmp_path)
    queue = f"candidates-test-{os.getpid()}"  # never shared with another test run on the same broker
    worker = celery_worker_start(
        env=server_env({"MEDIA_ROOT": str(tmp_path)}), queues=[queue], stderr=subprocess.PIPE
    )
    schema = tenants["globex"].schema
    try:
        with schema_context(schema):
            job, _preview = import_upload(
                upload=SimpleUploadedFile("rikunabi.csv", sample_bytes("rikunabi.csv")), board=None, user=None
            )
            candidates_import_task.apply_async(args=[schema, job.pk], queue=queue)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.status in ("done", "failed"):
                    break
                time.sleep(0.2)
            assert job.status == "done", (job.status, job.error)
            assert job.rows_processed == truth["rikunabi_rows"]
            assert globex_baseline.new(Candidate).count() == job.created_count > 0
            assert job.report["refused"] == []
    finally:
        stop_process(worker)
