"""manage.py bootstrap at fleet scale: the plan of every schema, applying it, resuming, lock timeouts."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, migrations, models
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenants.migrate.apply import ApplyOptions, schema_apply
from tenants.migrate.deploy import deploy
from tenants.migrate.plan import fleet_plan, migration_graph, migration_loader, migrations_reload
from tenants.models import Tenant
from tests.tenants.test_provisioning import _catalog

pytestmark = pytest.mark.slow

CANDIDATES_5 = ("candidates", "0005_leaner_indexes")
CANDIDATES_6 = ("candidates", "0006_audit_candidate_ids")
BOOKING_4 = ("booking", "0004_waiting_room")


def _undone_after(app: str, name: str) -> tuple[tuple[str, str], ...]:
    """What going back to `app`.`name` undoes: the app's later migrations and every migration of another app
    that depends on them, in the graph's order (later migrations join as they land)."""
    graph = migration_loader().graph
    undone: set[tuple[str, str]] = set()
    for key in migration_graph().order:
        if key[0] == app and key[1] > name:
            undone.update(graph.backwards_plan(key))  # the key and everything that depends on it
    return tuple(key for key in migration_graph().order if key in undone)


def _candidates_after(name: str) -> tuple[tuple[str, str], ...]:
    return _undone_after("candidates", name)


def _migrate_back(schema: str, app: str, name: str) -> None:
    """The schema as it was before the migrations after `name` (with django-tenants' own command)."""
    call_command(
        "migrate_schemas",
        schema_name=schema,
        app_label=app,
        migration_name=name,
        interactive=False,
        verbosity=0,
    )
    connection.set_schema_to_public()


def _shape(schema: str) -> dict[str, set]:
    """Every column, sequence, constraint and index of the schema; sequences without their positions."""
    catalog = _catalog(schema)
    catalog["sequences"] = {row[:5] + row[6:] for row in catalog["sequences"]}
    return catalog


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.fixture(scope="module")
def fleet(django_db_setup, django_db_blocker, tenants):
    """Four committed companies of this module's own (the session's acme and globex stay untouched)."""
    from tenants.services import _schema_drop, tenant_create

    with django_db_blocker.unblock():
        made = {
            key: tenant_create(
                name=f"フリート {key}", slug=f"fleet-{key}", admin_email=f"admin@fleet-{key}.example.jp"
            ).tenant.schema_name
            for key in ("a", "b", "c", "d")
        }
        yield made
        for tenant in Tenant.objects.filter(slug__startswith="fleet-"):
            _schema_drop(tenant.schema_name)
            tenant.delete()


def test_plan_reads_every_schema_state_together_and_deploy_applies_only_what_lacks(fleet, committed):
    a, b, c, d = fleet["a"], fleet["b"], fleet["c"], fleet["d"]
    _migrate_back(b, "candidates", "0004_importjob_rows_total")
    _migrate_back(c, "booking", "0003_booking_reminder")
    _sql(f"DELETE FROM \"{d}\".django_migrations WHERE app = 'candidates' AND name = '0005_leaner_indexes'")
    # A company whose schema was created but never migrated, and one whose schema is gone.
    Tenant.objects.create(schema_name="t_fleet_fresh", slug="fleet-fresh", name="フリート 新規")
    _sql('CREATE SCHEMA "t_fleet_fresh"')
    Tenant.objects.create(schema_name="t_fleet_gone", slug="fleet-gone", name="フリート 消失")
    schemas = [a, b, c, d, "t_fleet_fresh", "t_fleet_gone"]

    with CaptureQueriesContext(connection) as queries:
        plan = fleet_plan(schemas=schemas, reference="tenant_template")
    by_schema = {item.schema: item for item in plan.schemas}
    assert by_schema[a].missing == () and not by_schema[a].pending
    assert by_schema[b].missing[:2] == (CANDIDATES_5, CANDIDATES_6)
    assert by_schema[b].missing == _candidates_after("0004_importjob_rows_total")
    assert by_schema[c].missing[0] == BOOKING_4
    assert by_schema[c].missing == _undone_after("booking", "0003_booking_reminder")
    assert "0006_audit_candidate_ids is applied before its dependency candidates.0005" in by_schema[d].problem
    assert by_schema["t_fleet_fresh"].missing == migration_graph().order
    assert not by_schema["t_fleet_fresh"].recorded
    assert by_schema["t_fleet_gone"].problem == "schema does not exist"
    # One catalog query, one for the states of up to 100 schemas, one per distinct state (a, b, c and d
    # differ): never one per schema.
    assert len(queries) == plan.queries == 1 + 1 + 4

    lines: list[str] = []
    result = deploy(jobs=2, options=ApplyOptions(), write=lines.append)  # two worker processes
    assert {item.schema for item in result.left} == {d, "t_fleet_gone"}
    assert {r.schema for r in result.progress[0].results} == {b, c, "t_fleet_fresh"}
    assert result.failed == []
    assert any(
        line.startswith("[")
        and f"{b}: {len(_candidates_after('0004_importjob_rows_total'))} migrations" in line
        for line in lines
    )
    assert any("/3 done, 0 failed]" in line for line in lines)
    assert result.summary().startswith("bootstrap: ")

    after = {item.schema: item for item in fleet_plan(schemas=schemas, reference="tenant_template").schemas}
    assert not any(after[name].pending for name in (a, b, c, "t_fleet_fresh"))
    expected = _shape(a)
    for name in (b, c, "t_fleet_fresh"):
        assert _shape(name) == expected, name
    with schema_context("t_fleet_fresh"):
        from django.contrib.auth.models import Permission
        from django.contrib.contenttypes.models import ContentType

        fresh = (set(ContentType.objects.values_list("app_label", "model")), Permission.objects.count())
    with schema_context(a):
        assert fresh == (
            set(ContentType.objects.values_list("app_label", "model")),
            Permission.objects.count(),
        )

    # Mend the broken ones for the other tests: d's record back, the two extra companies gone.
    _sql(
        f"INSERT INTO \"{d}\".django_migrations (app, name, applied) VALUES ('candidates', '0005_leaner_indexes', now())"
    )
    _sql('DROP SCHEMA "t_fleet_fresh" CASCADE')
    Tenant.objects.filter(slug__in=["fleet-fresh", "fleet-gone"]).delete()


def test_failed_migration_is_reported_and_resumed_where_it_stopped(fleet, committed):
    b = fleet["b"]
    _migrate_back(b, "candidates", "0004_importjob_rows_total")
    # Something in the way of 0006 (a column it adds already exists): 0005 goes in, 0006 fails.
    _sql(f'ALTER TABLE "{b}".candidates_auditentry ADD COLUMN candidate_ids integer')
    out = io.StringIO()
    with pytest.raises(CommandError, match=rf"1 companies are not up to date \({b}\).*run bootstrap again"):
        call_command("bootstrap", jobs=1, stdout=out)
    output = out.getvalue()
    assert (
        f"[1/1 done, 1 failed] {b}: FAILED after 1 migrations: candidates.0006_audit_candidate_ids:" in output
    )
    assert 'column "candidate_ids" of relation "candidates_auditentry" already exists' in output
    assert "1 left (1 failed)" in output
    (plan,) = fleet_plan(schemas=[b]).schemas
    assert plan.missing == _candidates_after("0005_leaner_indexes")  # 0005 was committed with its record
    assert plan.missing[0] == CANDIDATES_6

    _sql(f'ALTER TABLE "{b}".candidates_auditentry DROP COLUMN candidate_ids')
    out = io.StringIO()
    call_command("bootstrap", jobs=1, stdout=out)
    assert (
        f"[1/1 done, 0 failed] {b}: {len(_candidates_after('0005_leaner_indexes'))} migrations in"
        in out.getvalue()
    )
    assert "0 left (0 failed)" in out.getvalue()
    (plan,) = fleet_plan(schemas=[b]).schemas
    assert not plan.pending


@contextmanager
def _extra_migration(app_label: str, name: str, operations: list) -> Iterator[tuple[str, str]]:
    """A migration added to this process's graph for one test (never written to the app's folder)."""
    loader = migration_loader()
    parent = max(key for key in loader.graph.leaf_nodes() if key[0] == app_label)
    migration = type(
        "Migration", (migrations.Migration,), {"dependencies": [parent], "operations": operations}
    )(name, app_label)
    loader.graph.add_node((app_label, name), migration)
    loader.graph.add_dependency(migration, (app_label, name), parent)
    migration_graph.cache_clear()
    try:
        yield (app_label, name)
    finally:
        migrations_reload()


def _seminar_note_migration():
    """What a release might bring: a column and an index on the seminars table, which every booking reads."""
    return _extra_migration(
        "booking",
        "9999_seminar_note",
        [
            migrations.AddField("seminar", "note", models.CharField(max_length=20, null=True, blank=True)),
            migrations.AddIndex("seminar", models.Index(fields=["note"], name="seminar_note_test")),
        ],
    )


def _booking_setup(schema: str):
    """Two seminars with a seat each and two students: the bookings share tables, never a row."""
    from tests.booking.conftest import candidate_make, seminar_make

    with schema_context(schema):
        seminars = [seminar_make(title=f"移行中の予約 {n}", quotas={"A": 5}, capacity=5) for n in (1, 2)]
        slot_ids = [seminar.slots.get().pk for seminar in seminars]
        return seminars, slot_ids, [candidate_make(rank="A") for _ in range(2)]


def _booking_timed(
    *,
    schema: str,
    candidate,
    slot_id: int,
    hold: threading.Event | None = None,
    holding: threading.Event | None = None,
) -> float:
    """Book a seat on this thread's connection; with `hold`, keep the transaction open until it is set."""
    from django.db import transaction

    from booking.services.bookings import booking_create

    started = time.perf_counter()
    try:
        with schema_context(schema):
            if hold is None:
                booking_create(candidate=candidate, slot_id=slot_id)
            else:
                with transaction.atomic():
                    booking_create(candidate=candidate, slot_id=slot_id)
                    holding.set()
                    hold.wait(10)
        return time.perf_counter() - started
    finally:
        connection.close()


def _lock_waited_for(schema: str, *, seconds: float = 5.0) -> None:
    """Until a session waits for a lock on the company's seminars table (the migration), at most `seconds`."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass(%s)",
                [f'"{schema}".booking_seminar'],
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def _migrate_during_booking(*, schema: str, lock_timeout_ms: int, hold_s: float) -> tuple[float, object]:
    """A booking keeps its transaction open for hold_s; the migration starts; 0.3 s later another
    booking (another seminar, another student) arrives. Returns how long that one took, and the
    migration's result."""
    from tests.booking.conftest import rush_seminar_remove

    seminars, (first_slot, second_slot), (first, second) = _booking_setup(schema)
    (plan,) = fleet_plan(schemas=[schema], reference="tenant_template").schemas
    assert plan.missing == (("booking", "9999_seminar_note"),)
    hold, holding = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def run(name, function, **kwargs):
        results[name] = function(**kwargs)

    def migrate() -> object:
        try:
            return schema_apply(
                plan=plan, options=ApplyOptions(lock_timeout_ms=lock_timeout_ms, attempts=100)
            )
        finally:
            connection.close()

    holder = threading.Thread(
        target=run,
        args=("holder", _booking_timed),
        kwargs={
            "schema": schema,
            "candidate": first,
            "slot_id": first_slot,
            "hold": hold,
            "holding": holding,
        },
    )
    holder.start()
    assert holding.wait(10)
    migration = threading.Thread(target=run, args=("migration", migrate))
    migration.start()
    time.sleep(0.3)  # the migration waits for its lock (or pauses between tries)
    _lock_waited_for(schema)  # on a loaded machine the migration may take longer to ask for it
    booker = threading.Thread(
        target=run,
        args=("second", _booking_timed),
        kwargs={"schema": schema, "candidate": second, "slot_id": second_slot},
    )
    booker.start()
    time.sleep(max(0.0, hold_s - 0.3))
    hold.set()
    for thread in (booker, holder, migration):
        thread.join(30)
    for seminar in seminars:
        rush_seminar_remove(schema=schema, seminar=seminar)
    return results["second"], results["migration"]


def test_lock_timeout_keeps_bookings_flowing_while_a_migration_waits_for_its_lock(fleet, committed):
    c = fleet["c"]
    with _seminar_note_migration() as key:
        # Without a useful lock timeout the second booking queues behind the migration, which queues
        # behind the first booking's open transaction: it waits for all of it.
        waited, result = _migrate_during_booking(schema=c, lock_timeout_ms=30_000, hold_s=2.0)
        assert result.ok and result.retries == 0 and result.applied == (key,)
        assert waited > 1.4, waited
        _sql(f'ALTER TABLE "{c}".booking_seminar DROP COLUMN note')
        _sql(f"DELETE FROM \"{c}\".django_migrations WHERE app = 'booking' AND name = '9999_seminar_note'")

        # With 200 ms the migration steps aside each time: the second booking waits at most about that
        # long; the migration gets through once the first booking commits.
        waited, result = _migrate_during_booking(schema=c, lock_timeout_ms=200, hold_s=2.0)
        assert waited < 0.2 + 0.5, waited
        assert result.ok, result.error
        assert result.retries >= 3 and result.applied == (key,)
        (plan,) = fleet_plan(schemas=[c]).schemas
        assert not plan.pending
