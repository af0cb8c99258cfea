"""Apply one schema's missing migrations: each in its own transaction, with a lock timeout and retries.

A migration that alters a busy table queues for its lock, and every booking that arrives after it
queues behind the migration. `lock_timeout` bounds that wait: the migration gives up after a fraction
of a second, its transaction rolls back (nothing half-done is left; the migration and its record in
django_migrations commit together), the bookings go on, and the migration tries again after a short,
growing, jittered pause. What the migration does once it holds the lock must be short too: see the
expand/contract rule in docs/deploy.md.

The project state a schema's migrations start from is built and rendered once per process for each
distinct set of applied migrations, and cloned for each schema (rendering the models is the expensive
part of Django's migrate, repeated per schema by migrate_schemas).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from django.apps import apps as global_apps
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.migrations.migration import Migration
from django.db.migrations.operations.base import Operation
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django_tenants.utils import quote_schema_name

from tenants.migrate.plan import Key, SchemaPlan, migration_graph, migration_loader

# SQLSTATEs after which the same migration is tried again: lock_not_available (lock_timeout expired)
# and deadlock_detected (PostgreSQL chose the migration as the victim). Both roll back the whole
# migration, so a retry starts from the same state.
RETRYABLE = frozenset({"55P03", "40P01"})


@dataclass(frozen=True)
class ApplyOptions:
    lock_timeout_ms: int = 200
    attempts: int = 40  # tries per migration, then the schema is reported as failed
    pause_first_s: float = 0.05
    pause_max_s: float = 2.0


@dataclass(frozen=True)
class SchemaResult:
    schema: str
    applied: tuple[Key, ...] = ()
    seconds: float = 0.0
    retries: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


T = TypeVar("T")


class LockRetriesExhausted(Exception):
    pass


# Operations with their states, per distinct plan (a handful per deploy).
_plans: dict[tuple[int, tuple[Key, ...]], list] = {}


def schema_apply(*, plan: SchemaPlan, options: ApplyOptions) -> SchemaResult:
    """Bring one schema up to date; never raises for a database error (the result carries it)."""
    started = time.perf_counter()
    applied: list[Key] = []
    retries = 0
    try:
        with _schema_session(schema=plan.schema, options=options):
            if not plan.recorded:
                _recorder_table_ensure(plan.schema)
            for key, steps in _steps(plan.missing):
                retries += _with_retries(lambda key=key, steps=steps: _apply(key=key, steps=steps), options)[  # type: ignore[misc]
                    1
                ]
                applied.append(key)
            if plan.post_migrate and _lacks_content_types(plan):
                _with_retries(
                    lambda: emit_post_migrate_signal(0, False, connection.alias, apps=global_apps), options
                )
    except (DatabaseError, LockRetriesExhausted) as error:
        step = (
            _name(plan.missing[len(applied)]) if len(applied) < len(plan.missing) else "post-migrate handlers"
        )
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return SchemaResult(
            schema=plan.schema,
            applied=tuple(applied),
            seconds=time.perf_counter() - started,
            retries=retries,
            error=f"{step}: {first_line}",
        )
    return SchemaResult(
        schema=plan.schema, applied=tuple(applied), seconds=time.perf_counter() - started, retries=retries
    )


def migration_graph_node(key: Key) -> Migration:
    return migration_loader().graph.nodes[key]


def _name(key: Key) -> str:
    return f"{key[0]}.{key[1]}"


@contextmanager
def _schema_session(*, schema: str, options: ApplyOptions) -> Iterator[None]:
    """The connection inside the schema (public behind it, as migrate_schemas does) with the lock timeout."""
    connection.set_schema(schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{options.lock_timeout_ms}ms"])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        except DatabaseError:
            connection.close()  # a broken connection is not handed on with our settings
        connection.set_schema_to_public()


def _recorder_table_ensure(schema: str) -> None:
    """A schema without django_migrations gets its own (with public on the path, public's would be used)."""
    connection.set_schema(schema, include_public=False)
    try:
        MigrationRecorder(connection).ensure_schema()
    finally:
        connection.set_schema(schema)


Step = tuple[Operation, ProjectState, ProjectState]  # an operation with the states before and after it


def _steps(missing: tuple[Key, ...]) -> list[tuple[Key, list[Step]]]:
    """Each missing migration's operations with their before/after states, computed once per process for
    each distinct plan. The states only describe models (table names are unqualified, the search path
    picks the schema), so every schema with this plan runs the same operations from the same states;
    Django's executor recomputed and re-rendered them for each schema."""
    loader = migration_loader()
    steps = _plans.get((id(loader), missing))
    if steps is not None or not missing:
        return steps or []
    state = ProjectState(real_apps=loader.unmigrated_apps)
    skipped = set(missing)
    for key in migration_graph().order:
        if key not in skipped:
            loader.graph.nodes[key].mutate_state(state, preserve=False)
    state.apps  # noqa: B018 - render every model once, as the executor does before the first migration
    _pre_migrate(missing, state)
    steps = []
    for key in missing:
        migration = migration_graph_node(key)
        operations: list[Step] = []
        for operation in migration.operations:
            before = state.clone()
            operation.state_forwards(migration.app_label, state)
            operations.append((operation, before, state.clone()))
        steps.append((key, operations))
    if len(_plans) > 8:
        _plans.clear()
    _plans[(id(loader), missing)] = steps
    return steps


def _pre_migrate(missing: tuple[Key, ...], state: ProjectState) -> None:
    """pre_migrate handlers (contenttypes inserts its rename operations) see each migration object once."""
    fresh = [migration_graph_node(key) for key in missing]
    fresh = [migration for migration in fresh if not getattr(migration, "_pre_migrate_sent", False)]
    if fresh:
        emit_pre_migrate_signal(
            0, False, connection.alias, apps=state.apps, plan=[(migration, False) for migration in fresh]
        )
        for migration in fresh:
            migration._pre_migrate_sent = True


def _with_retries(action: Callable[[], T], options: ApplyOptions) -> tuple[T, int]:
    """The action's result and how many times it was retried after a lock timeout or deadlock."""
    for attempt in range(options.attempts):
        try:
            return action(), attempt
        except OperationalError as error:
            if _sqlstate(error) not in RETRYABLE:
                raise
            if attempt == options.attempts - 1:
                raise LockRetriesExhausted(
                    f"lock not available after {options.attempts} tries of {options.lock_timeout_ms} ms"
                ) from error
            pause = min(options.pause_max_s, options.pause_first_s * 2**attempt)
            time.sleep(pause * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


def _sqlstate(error: BaseException) -> str | None:
    cause = error.__cause__ or error.__context__
    return getattr(cause, "sqlstate", None) or getattr(error, "sqlstate", None)


def _apply(*, key: Key, steps: list[Step]) -> None:
    """Django's Migration.apply + MigrationExecutor.apply_migration with the states computed beforehand,
    recording through the schema's own table directly (the recorder would first list the schema's
    tables, a scan of the whole catalog)."""
    migration = migration_graph_node(key)
    recorded = False
    with connection.schema_editor(atomic=migration.atomic) as editor:
        for operation, before, after in steps:
            atomic_operation = operation.atomic or (migration.atomic and operation.atomic is not False)
            if not editor.atomic_migration and atomic_operation:
                with transaction.atomic(editor.connection.alias):
                    operation.database_forwards(migration.app_label, editor, before, after)
            else:
                operation.database_forwards(migration.app_label, editor, before, after)
        if not editor.deferred_sql:
            _record(migration)
            recorded = True
    if not recorded:
        _record(migration)


def _record(migration: Migration) -> None:
    recorder = MigrationRecorder(connection)
    for app, name in migration.replaces or [(migration.app_label, migration.name)]:
        recorder.migration_qs.create(app=app, name=name)


def _lacks_content_types(plan: SchemaPlan) -> bool:
    """Whether the post-migrate handlers have anything to create: the content types and permissions of
    the reference schema (the template, migrated and post-migrated first) that this schema lacks.
    One query instead of the handlers' forty."""
    if not plan.reference:
        return True
    schema, reference = quote_schema_name(plan.schema), quote_schema_name(plan.reference)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT EXISTS (SELECT app_label, model FROM {reference}.django_content_type
                                EXCEPT SELECT app_label, model FROM {schema}.django_content_type)
                    OR EXISTS (SELECT t.app_label, t.model, p.codename
                                 FROM {reference}.auth_permission p
                                 JOIN {reference}.django_content_type t ON t.id = p.content_type_id
                               EXCEPT
                               SELECT t.app_label, t.model, p.codename
                                 FROM {schema}.auth_permission p
                                 JOIN {schema}.django_content_type t ON t.id = p.content_type_id)"""
        )
        return cursor.fetchone()[0]
