"""Celery entry points of the candidates app: each takes the schema name and ids only."""

from __future__ import annotations

import os

from django_tenants.utils import schema_context

from saas.celery import app
from tenants.context import for_each_tenant


def task_queue() -> str | None:
    """A dedicated queue for imports and re-ranks when CANDIDATES_TASK_QUEUE is set (else the default).

    Long imports then never delay mail; tests use it to reach only their own worker.
    """
    return os.environ.get("CANDIDATES_TASK_QUEUE") or None


@app.task(name="candidates.rerank")
def candidates_rerank_task(schema_name: str, reason: str) -> int:
    from candidates.services.ranks import candidates_rerank

    with schema_context(schema_name):
        return candidates_rerank(reason=reason).changed_count


@app.task(name="candidates.import_job")
def candidates_import_task(schema_name: str, job_id: int) -> str:
    from candidates.services.jobs import import_job_run

    with schema_context(schema_name):
        return import_job_run(job_id=job_id).status


@app.task(name="candidates.retention_run")
def retention_run_task() -> dict[str, int]:
    """Every company's retention policy, applied to the students due tonight (beat, nightly at 03:30)."""
    from candidates.services.retention import retention_run

    return for_each_tenant(lambda _schema: retention_run())
