"""The background import through a real Celery worker process (its own queue, the test database)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from candidates.models import Candidate
from candidates.services.jobs import import_upload
from candidates.tasks import candidates_import_task
from tests.candidates.conftest import sample_bytes
from tests.conftest import ROOT, database_url_for_tests, stop_process


def test_upload_is_imported_by_a_real_worker(tenants, globex_baseline, settings, tmp_path, truth):
    settings.MEDIA_ROOT = str(tmp_path)
    queue = f"candidates-test-{os.getpid()}"  # never shared with another test run on the same broker
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "SAAS_TESTING": "1",
        "MEDIA_ROOT": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saas",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
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
