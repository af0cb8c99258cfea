"""Celery entry points of the tenants app."""

from __future__ import annotations

from saas.celery import app


@app.task(name="tenants.exports_prune", ignore_result=True)
def exports_prune_task() -> None:
    from tenants.exports import exports_prune

    exports_prune()
