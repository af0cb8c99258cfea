"""Celery entry points of the webhooks app: a company's run, and the beat's sweep over every company."""

from __future__ import annotations

from django_tenants.utils import schema_context

from saas.celery import app
from tenants.context import for_each_tenant


@app.task(name="webhooks.dispatch", ignore_result=True)
def webhooks_dispatch(schema_name: str) -> dict[str, int]:
    """Dispatch the company's outbox and send what is due; come back for the earliest retry."""
    from webhooks.events import kick_forget
    from webhooks.services.delivery import deliveries_run

    kick_forget(schema_name)
    with schema_context(schema_name):
        report = deliveries_run()
    if report.next_in is not None:
        webhooks_dispatch.apply_async(args=[schema_name], countdown=report.next_in)
    return {"dispatched": report.dispatched, "succeeded": report.succeeded, "retrying": report.retrying}


@app.task(name="webhooks.prune", ignore_result=True)
def webhooks_prune() -> int:
    """Nightly: every company's finished events older than 30 days, with their delivery log."""
    from webhooks.services.delivery import events_prune

    return sum(for_each_tenant(lambda _schema: events_prune()).values())


@app.task(name="webhooks.sweep", ignore_result=True)
def webhooks_sweep() -> int:
    """Wake a run for every company with work waiting (a lost task message, a lease that ran out)."""
    from webhooks.services.delivery import has_due

    due = [schema for schema, waiting in for_each_tenant(lambda _schema: has_due()).items() if waiting]
    for schema_name in due:
        webhooks_dispatch.apply_async(args=[schema_name])
    return len(due)
