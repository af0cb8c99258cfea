"""A release's database work, as `manage.py bootstrap` runs it: public, template, then every company.

One deploy at a time (an advisory lock on a connection of its own). The public schema and the template
are migrated in this process; the companies' schemas are planned together and the pending ones applied
over worker processes. A second plan at the end catches companies provisioned while the deploy ran
(cloned from the template before it was migrated) and is the deploy's own check that nothing is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django_tenants.utils import get_public_schema_name

from tenants.context import tenant_schemas
from tenants.db import dedicated_connection
from tenants.migrate.apply import ApplyOptions, SchemaResult, schema_apply
from tenants.migrate.fleet import Progress, fleet_apply
from tenants.migrate.plan import FleetPlan, SchemaPlan, fleet_plan
from tenants.services import public_tenant_ensure, template_schema_ensure

_DEPLOY_LOCK_ID = 7_310_221_005


@dataclass
class DeployResult:
    public: SchemaResult | None = None  # None when the public schema was up to date
    template_changed: bool = False
    plan: FleetPlan | None = None
    progress: list[Progress] = field(default_factory=list)
    left: list[SchemaPlan] = field(default_factory=list)  # still pending or with a problem at the end
    seconds: float = 0.0

    @property
    def companies(self) -> int:
        return len(self.plan.schemas) if self.plan else 0

    @property
    def failed(self) -> list[SchemaResult]:
        latest = {result.schema: result for progress in self.progress for result in progress.results}
        return [result for result in latest.values() if not result.ok]

    @property
    def migrated(self) -> int:
        return len({r.schema for p in self.progress for r in p.results if r.ok})

    @property
    def migrations(self) -> int:
        return sum(progress.migrations for progress in self.progress)

    @property
    def retries(self) -> int:
        return sum(progress.retries for progress in self.progress)

    def summary(self) -> str:
        up_to_date = self.companies - len(self.plan.pending) - len(self.plan.problems) if self.plan else 0
        public = "up to date" if self.public is None else f"{len(self.public.applied)} migrations"
        return (
            f"bootstrap: {self.companies} companies: {up_to_date} up to date, {self.migrated} migrated"
            f" ({self.migrations} migrations, {self.retries} lock retries), {len(self.left)} left"
            f" ({len(self.failed)} failed); public {public}; template"
            f" {'migrated' if self.template_changed else 'up to date'}; {self.seconds:.1f} s"
        )


def deploy(
    *,
    jobs: int,
    options: ApplyOptions,
    plan_only: bool = False,
    write: Callable[[str], None] = lambda line: None,
) -> DeployResult:
    """Migrate the public schema, the template and every company; never raises for one company's failure."""
    started = time.perf_counter()
    result = DeployResult()
    with dedicated_connection() as lock_connection:
        locked = lock_connection.execute("SELECT pg_try_advisory_lock(%s)", [_DEPLOY_LOCK_ID]).fetchone()[0]  # type: ignore[index]
        if not locked:
            write("another bootstrap is running on this database: waiting for it to finish")
            lock_connection.execute("SELECT pg_advisory_lock(%s)", [_DEPLOY_LOCK_ID])
        public = fleet_plan(schemas=[get_public_schema_name()]).schemas[0]
        if public.problem:
            raise RuntimeError(f"public schema: {public.problem}")
        if public.pending and not plan_only:
            result.public = schema_apply(plan=public, options=options)
            write(f"public: {_describe(result.public)}")
            if not result.public.ok:
                raise RuntimeError(f"public schema: {result.public.error}")
        if plan_only and public.pending:
            write(f"public lacks {len(public.missing)} migrations")
            return result
        public_tenant_ensure()
        if not plan_only:
            result.template_changed = template_schema_ensure(options=options)
        schemas = sorted(tenant_schemas())
        result.plan = fleet_plan(schemas=schemas, reference=settings.TENANT_BASE_SCHEMA)
        for line in result.plan.describe():
            write(line)
        if plan_only:
            result.left = result.plan.pending + result.plan.problems
            result.seconds = time.perf_counter() - started
            return result
        report = _reporter(write)
        result.progress.append(
            fleet_apply(plans=result.plan.pending, jobs=jobs, options=options, report=report)
        )
        check = fleet_plan(schemas=schemas, reference=settings.TENANT_BASE_SCHEMA)
        failed = {r.schema for r in result.failed}
        late = [plan for plan in check.pending if plan.schema not in failed]
        if late:
            write(f"{len(late)} companies still lack migrations (provisioned during the deploy?): applying")
            result.progress.append(fleet_apply(plans=late, jobs=jobs, options=options, report=report))
            check = fleet_plan(schemas=schemas, reference=settings.TENANT_BASE_SCHEMA)
        result.left = check.pending + check.problems
    result.seconds = time.perf_counter() - started
    return result


def _describe(result: SchemaResult) -> str:
    if not result.ok:
        return f"FAILED after {len(result.applied)} migrations: {result.error}"
    retries = f", {result.retries} lock retries" if result.retries else ""
    return f"{len(result.applied)} migrations in {result.seconds:.2f} s{retries}"


def _reporter(write: Callable[[str], None]) -> Callable[[Progress, SchemaResult], None]:
    def report(progress: Progress, result: SchemaResult) -> None:
        width = len(str(progress.total))
        write(
            f"[{progress.done:>{width}}/{progress.total} done, {progress.failed} failed]"
            f" {result.schema}: {_describe(result)}"
        )

    return report
