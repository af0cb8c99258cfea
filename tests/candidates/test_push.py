"""The background import pushes its progress to the signed-in recruiters of its own company only."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import schema_context

from candidates.services.jobs import import_job_run, import_upload
from notifications.services import RECRUITER_GROUP
from tenants.websocket import tenant_group
from tests.candidates.conftest import sample_bytes


def test_import_job_pushes_progress_to_its_tenant_only(tenants, globex_baseline, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    globex, acme = tenants["globex"], tenants["acme"]
    with schema_context(globex.schema):
        job, _preview = import_upload(
            upload=SimpleUploadedFile("mynavi.csv", sample_bytes("mynavi.csv")), board=None, user=None
        )

    def run_job() -> None:
        try:
            with schema_context(globex.schema):
                import_job_run(job_id=job.pk)
        finally:
            connection.close()

    async def scenario() -> tuple[list[dict], bool]:
        layer = get_channel_layer()
        mine, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(tenant_group(globex.tenant, RECRUITER_GROUP), mine)
        await layer.group_add(tenant_group(acme.tenant, RECRUITER_GROUP), other)
        await asyncio.sleep(0.3)
        await sync_to_async(run_job, thread_sensitive=False)()
        events = []
        while not events or events[-1]["type"] != "import.finished":
            events.append((await asyncio.wait_for(layer.receive(mine), 10))["event"])
        try:
            await asyncio.wait_for(layer.receive(other), 0.5)
            leaked = True
        except TimeoutError:
            leaked = False
        await layer.group_discard(tenant_group(globex.tenant, RECRUITER_GROUP), mine)
        await layer.group_discard(tenant_group(acme.tenant, RECRUITER_GROUP), other)
        return events, leaked

    events, leaked = asyncio.run(scenario())
    assert not leaked
    assert events[0]["type"] == "import.progress" and events[-1]["status"] == "done"
    assert events[-1]["percent"] == 100 and events[-1]["refused"] == 2
    assert all(set(event) >= {"job", "rows_processed", "created"} for event in events)
    # Counts only: no names or addresses travel in the push.
    assert "example.ac.jp" not in str(events)
