"""What each schema lacks, read for every schema together: the catalog once, django_migrations in chunks.

django-tenants' migrate_schemas asks each schema on its own: it lists the schema's tables with a query
that checks the visibility of every relation of the database (~250 per company), builds the migration
graph again and runs the post-migrate handlers, 0.3 s per company even when nothing is to be done. Here
one catalog query tells which schemas exist and have a django_migrations table, one UNION ALL per
`CHUNK` schemas reads a digest of each schema's applied migrations (with its content type and permission
counts), and the applied list is read once per distinct digest: companies cloned from the same template
share one. The migration graph is loaded once per process.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import quote_schema_name

Key = tuple[str, str]  # (app label, migration name)

# Schemas read per statement: each one takes share locks on three tables and their indexes, and the
# lock table is shared by every session (max_locks_per_transaction x max_connections).
CHUNK = 100
_TABLES = ("django_migrations", "django_content_type", "auth_permission")


@dataclass(frozen=True)
class Graph:
    """The project's migrations, loaded once per process (the code cannot change under it)."""

    order: tuple[Key, ...]  # every migration, in the order Django applies them on an empty database
    parents: dict[Key, frozenset[Key]]
    replacements: dict[Key, tuple[Key, ...]]  # squashed migration -> the migrations it replaces


@dataclass(frozen=True)
class SchemaState:
    schema: str
    exists: bool
    recorded: bool  # has its own django_migrations table
    digest: str = ""  # md5 of its applied migrations, sorted
    count: int = 0
    contenttypes: int = 0
    permissions: int = 0


@dataclass(frozen=True)
class SchemaPlan:
    """One schema's missing migrations, in order (the graph's other migrations are what it has)."""

    schema: str
    missing: tuple[Key, ...] = ()
    recorded: bool = True
    post_migrate: bool = False  # content types and permissions may be lacking (checked after migrating)
    reference: str = ""  # a complete schema to check them against (the template), or run the handlers
    problem: str = ""  # a state this command does not repair (missing schema, inconsistent history)

    @property
    def pending(self) -> bool:
        return not self.problem and bool(self.missing or self.post_migrate)


@dataclass
class FleetPlan:
    schemas: list[SchemaPlan]
    seconds: float
    queries: int
    states: int = 0  # distinct migration states among the schemas
    reference: SchemaState | None = field(default=None, repr=False)

    @property
    def pending(self) -> list[SchemaPlan]:
        return [plan for plan in self.schemas if plan.pending]

    @property
    def problems(self) -> list[SchemaPlan]:
        return [plan for plan in self.schemas if plan.problem]

    def describe(self) -> list[str]:
        """Lines for people: how many schemas lack which migrations."""
        pending = self.pending
        lines = [
            f"{len(self.schemas)} schemas, {len(self.schemas) - len(pending) - len(self.problems)} up to date,"
            f" {len(pending)} to migrate, {len(self.problems)} with problems"
            f" ({self.states} migration states, {self.queries} queries, {self.seconds:.2f} s)"
        ]
        shapes = Counter(plan.missing for plan in pending)
        for missing, count in shapes.most_common(10):
            names = ", ".join(f"{app}.{name}" for app, name in missing[:6])
            more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            lines.append(f"  {count} lack {names + more if missing else 'content types or permissions'}")
        for plan in self.problems[:20]:
            lines.append(f"  {plan.schema}: {plan.problem}")
        return lines


@cache
def migration_loader() -> MigrationLoader:
    """The migrations on disk, without any database state."""
    return MigrationLoader(None, ignore_no_migrations=True)


def migrations_reload() -> None:
    """Forget the loaded migrations (after the graph was changed in this process)."""
    migration_loader.cache_clear()
    migration_graph.cache_clear()


@cache
def migration_graph() -> Graph:
    graph = migration_loader().graph
    order: list[Key] = []
    seen: set[Key] = set()
    for leaf in sorted(graph.leaf_nodes()):
        for key in graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                order.append(key)
    replacements = {
        key: tuple(migration.replaces)
        for key, migration in migration_loader().replacements.items()
        if key in graph.nodes
    }
    return Graph(
        order=tuple(order),
        parents={key: frozenset(graph.node_map[key].parents) for key in order},
        replacements=replacements,
    )


def missing_migrations(*, applied: Iterable[Key], graph: Graph | None = None) -> tuple[tuple[Key, ...], str]:
    """The migrations a schema with these applied lacks, in order, or a problem this command won't repair."""
    graph = graph or migration_graph()
    applied = set(applied)
    effective = set(applied)
    for key, replaced in graph.replacements.items():
        done = [name in applied for name in replaced]
        if all(done):
            effective.add(key)
        elif any(done):
            return (), f"squashed migration {key[0]}.{key[1]} is partly applied: run migrate_schemas on it"
    for key in effective:
        lacking = graph.parents.get(key, frozenset()) - effective
        if lacking:
            parent = sorted(lacking)[0]
            return (), f"{key[0]}.{key[1]} is applied before its dependency {parent[0]}.{parent[1]}"
    return tuple(key for key in graph.order if key not in effective), ""


def schema_states(*, schemas: Sequence[str]) -> tuple[dict[str, SchemaState], int]:
    """The migration state of every schema named, and the number of queries it took."""
    schemas = list(dict.fromkeys(schemas))
    queries = 1
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT n.nspname, coalesce(array_agg(c.relname) FILTER (WHERE c.relname IS NOT NULL), '{}')
                 FROM pg_catalog.pg_namespace n
                 LEFT JOIN pg_catalog.pg_class c
                   ON c.relnamespace = n.oid AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')
                WHERE n.nspname = ANY(%s)
                GROUP BY n.nspname""",
            [list(_TABLES), schemas],
        )
        tables = {name: set(relations) for name, relations in cursor.fetchall()}
        recorded = [name for name in schemas if "django_migrations" in tables.get(name, ())]
        states = {
            name: SchemaState(schema=name, exists=name in tables, recorded=False)
            for name in schemas
            if name not in recorded
        }
        for start in range(0, len(recorded), CHUNK):
            chunk = recorded[start : start + CHUNK]
            cursor.execute(" UNION ALL ".join(_state_select(name, tables[name]) for name in chunk), chunk)
            queries += 1
            for name, digest, count, contenttypes, permissions in cursor.fetchall():
                states[name] = SchemaState(
                    schema=name,
                    exists=True,
                    recorded=True,
                    digest=digest or "",
                    count=count,
                    contenttypes=contenttypes,
                    permissions=permissions,
                )
    return states, queries


def _state_select(schema: str, tables: set[str]) -> str:
    quoted = quote_schema_name(schema)

    def count(table: str) -> str:
        return f"(SELECT count(*) FROM {quoted}.{table})" if table in tables else "0"

    return (
        f"SELECT %s::text, md5(string_agg(app || '.' || name, ',' ORDER BY app, name)), count(*),"
        f" {count('django_content_type')}, {count('auth_permission')} FROM {quoted}.django_migrations"
    )


def applied_migrations(*, schema: str) -> frozenset[Key]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {quote_schema_name(schema)}.django_migrations")
        return frozenset((app, name) for app, name in cursor.fetchall())


def fleet_plan(*, schemas: Sequence[str], reference: str | None = None) -> FleetPlan:
    """What every schema lacks. `reference` (the template) has the content types a complete schema has."""
    started = time.perf_counter()
    names = list(dict.fromkeys(schemas))
    states, queries = schema_states(schemas=names + ([reference] if reference else []))
    reference_state = states.get(reference) if reference else None
    missing_by_digest: dict[str, tuple[tuple[Key, ...], str]] = {}
    plans = []
    for name in names:
        state = states[name]
        if not state.exists:
            plans.append(SchemaPlan(schema=name, problem="schema does not exist"))
            continue
        if not state.recorded:
            missing, problem = missing_migrations(applied=())
            plans.append(
                SchemaPlan(schema=name, missing=missing, recorded=False, post_migrate=True, problem=problem)
            )
            continue
        if state.digest not in missing_by_digest:
            missing_by_digest[state.digest] = missing_migrations(applied=applied_migrations(schema=name))
            queries += 1
        missing, problem = missing_by_digest[state.digest]
        plans.append(
            SchemaPlan(
                schema=name,
                missing=missing,
                post_migrate=bool(missing) or _lacks_content_types(state, reference_state),
                reference=reference if reference_state is not None and reference_state.recorded else "",  # type: ignore[arg-type]
                problem=problem,
            )
        )
    return FleetPlan(
        schemas=plans,
        seconds=time.perf_counter() - started,
        queries=queries,
        states=len({state.digest for state in states.values() if state.schema in set(names)}),
        reference=reference_state,
    )


def _lacks_content_types(state: SchemaState, reference: SchemaState | None) -> bool:
    """A schema migrated by a run that stopped before its post-migrate handlers has fewer rows than the
    template's (content types and permissions are only ever added, some lazily, never removed)."""
    if reference is None or not reference.recorded or reference.digest != state.digest:
        return False
    return state.contenttypes < reference.contenttypes or state.permissions < reference.permissions
