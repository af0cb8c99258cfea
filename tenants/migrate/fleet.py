"""Apply the plans of many schemas over a bounded number of worker processes, reporting each company.

Processes, not threads: rendering migration states is Python work (threads would take turns on one
core), and Django's content-type cache is shared by the threads of a process whatever schema each is
in. Each worker holds one database connection (no pool), so a deploy uses `jobs` connections plus the
command's own. A schema is the unit of work: its migrations commit one by one, so a run that stops
(a failure, a killed deploy) is resumed by running it again; the next plan starts where this one ended.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from django.db import connection

from tenants.migrate.apply import ApplyOptions, SchemaResult, schema_apply
from tenants.migrate.plan import SchemaPlan


@dataclass
class Progress:
    total: int
    done: int = 0
    failed: int = 0
    migrations: int = 0
    retries: int = 0
    started: float = field(default_factory=time.perf_counter)
    results: list[SchemaResult] = field(default_factory=list)

    def add(self, result: SchemaResult) -> None:
        self.done += 1
        self.failed += 0 if result.ok else 1
        self.migrations += len(result.applied)
        self.retries += result.retries
        self.results.append(result)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def default_jobs() -> int:
    """Worker processes: one per core, at least two (a worker waits on the database half the time)."""
    return max(2, min(8, os.cpu_count() or 2))


def fleet_apply(
    *,
    plans: Sequence[SchemaPlan],
    jobs: int,
    options: ApplyOptions,
    report: Callable[[Progress, SchemaResult], None] | None = None,
) -> Progress:
    """Apply every plan; each finished schema is reported as it completes (successes and failures)."""
    plans = [plan for plan in plans if plan.pending]
    progress = Progress(total=len(plans))
    if not plans:
        return progress
    if jobs <= 1 or len(plans) == 1:
        for plan in plans:
            _finish(progress, schema_apply(plan=plan, options=options), report)
        return progress
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited sockets or threads
    workers = min(jobs, len(plans))
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_start, initargs=(_database_name(),)
    ) as pool:
        # A bounded window of submitted schemas keeps the order of the plan and lets a failed pool stop early.
        queue = list(reversed(plans))
        running: dict[Future, SchemaPlan] = {}
        broken = ""
        try:
            while queue or running:
                while queue and len(running) < workers * 2 and not broken:
                    plan = queue.pop()
                    try:
                        running[pool.submit(_worker_apply, plan, options)] = plan
                    except BrokenProcessPool as error:
                        queue.append(plan)
                        broken = f"worker process died: {error}"
                if broken and not running:
                    for plan in reversed(queue):  # not tried: reported failed, resumed by the next run
                        _finish(progress, SchemaResult(schema=plan.schema, error=broken), report)
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    plan = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as error:
                        broken = f"worker process died: {error}"
                        result = SchemaResult(schema=plan.schema, error=broken)
                    _finish(progress, result, report)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return progress


def _finish(progress: Progress, result: SchemaResult, report) -> None:
    progress.add(result)
    if report is not None:
        report(progress, result)


def _database_name() -> str:
    # Under tests the connection points at the test database, which the settings module does not name.
    return connection.settings_dict["NAME"]


def _worker_start(database_name: str) -> None:
    import django

    django.setup()
    from django.db import connection as worker_connection

    worker_connection.settings_dict["NAME"] = database_name
    # One plain connection per worker, kept for its life: the pool would add threads and idle connections.
    worker_connection.settings_dict.get("OPTIONS", {}).pop("pool", None)


def _worker_apply(plan: SchemaPlan, options: ApplyOptions) -> SchemaResult:
    return schema_apply(plan=plan, options=options)
