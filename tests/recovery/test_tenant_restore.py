"""One company back in time: its rows are those of the moment, another company's rows do not change, and
while it runs only the restored company sees the maintenance page; audited, announced and measured."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg import sql

from candidates.models import Candidate
from incidents.models import Incident, Maintenance, MaintenanceState, Scope, StaffAuditEntry, State
from recovery.middleware import MESSAGE
from recovery.models import RestoreState, TenantRestore
from recovery.report import _TABLES
from recovery.tenant_restore import tenant_restore


def _add(marker: str, *names: str) -> None:
    for name in names:
        Candidate.objects.create(
            family_name="会社",
            given_name=name,
            family_kana="カイシャ",
            given_kana="フク",
            email=f"{marker}-{name}@example.jp",
            rank="C",
        )


def _schema_rows(schema: str) -> dict[str, list[tuple]]:
    """Every row of every table of a schema, as a comparable value."""
    db = connection.settings_dict
    conninfo = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT']} user={db['USER'] or 'postgres'} dbname={db['NAME']}"
    with psycopg.connect(conninfo) as conn:
        tables = [row[0] for row in conn.execute(_TABLES, [schema]).fetchall()]
        return {
            table: conn.execute(
                sql.SQL("SELECT * FROM {}.{} ORDER BY 1").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchall()
            for table in tables
        }


class Poller(threading.Thread):
    """Asks both companies' login pages every 50 ms during the restore."""

    def __init__(self, server, hosts: list[str]) -> None:
        super().__init__(daemon=True)
        self.server, self.hosts = server, hosts
        self.answers: dict[str, list[tuple[int, bool]]] = {host: [] for host in hosts}
        self.stopping = threading.Event()

    def run(self) -> None:
        clients = {host: self.server.http(host, timeout=10) for host in self.hosts}
        while not self.stopping.is_set():
            for host, client in clients.items():
                response = client.get("/login/")
                self.answers[host].append((response.status_code, MESSAGE in response.text))
            time.sleep(0.05)


def test_one_company_goes_back_while_another_keeps_serving_unchanged(
    archive, tenants, committed, live_server_daphne
):
    acme, globex = tenants["acme"], tenants["globex"]
    marker = f"tenant-{uuid.uuid4().hex[:8]}"
    archive.take()
    with schema_context(acme.schema):
        _add(marker, "a1", "a2")
    with schema_context(globex.schema):
        _add(marker, "g1")
    acme_at_moment = _schema_rows(acme.schema)["candidates_candidate"]
    time.sleep(0.3)
    moment = timezone.now()
    time.sleep(0.3)
    with schema_context(acme.schema):
        _add(marker, "a3")
        Candidate.objects.filter(email=f"{marker}-a1@example.jp").delete()
    with schema_context(globex.schema):
        _add(marker, "g2")
    globex_before = _schema_rows(globex.schema)
    archive.archive_now()

    poller = Poller(live_server_daphne, [acme.host, globex.host])
    poller.start()
    result = None
    try:
        result = tenant_restore(
            config=archive.config,
            tenant=acme.tenant,
            target=moment,
            actor="support@example.jp",
            identity_file=archive.identity_file,
        )
        time.sleep(1.5)  # the servers notice the restore is over within a second
    finally:
        poller.stopping.set()
        poller.join(10)
        try:
            assert _schema_rows(acme.schema)["candidates_candidate"] == acme_at_moment
            assert _schema_rows(globex.schema) == globex_before  # the other company: not one row changed

            acme_answers, globex_answers = poller.answers[acme.host], poller.answers[globex.host]
            assert (503, True) in acme_answers, "the restored company saw the maintenance page"
            assert acme_answers[-1] == (200, False), "and is back afterwards"
            assert globex_answers and all(answer == (200, False) for answer in globex_answers)

            restore = result.restore
            assert restore.state == RestoreState.DONE and restore.reached_at < moment
            actions = list(
                StaffAuditEntry.objects.filter(action__startswith="tenant.restore").values_list(
                    "action", "actor"
                )
            )
            assert ("tenant.restore.start", "support@example.jp") in actions
            assert ("tenant.restore.done", "support@example.jp") in actions
            maintenance = Maintenance.objects.get(title="データ復元のためのメンテナンス")
            assert maintenance.state == MaintenanceState.COMPLETED and maintenance.scope == Scope.CHOSEN
            assert list(maintenance.tenants.values_list("slug", flat=True)) == ["acme"]
            incident = Incident.objects.get(title=f"{acme.tenant.name} のデータ復元")
            assert incident.state == State.RESOLVED and list(
                incident.tenants.values_list("slug", flat=True)
            ) == ["acme"]
            updates = [update.message_ja for update in incident.updates.order_by("created_at")]
            assert any("完了見込み" in text and "進捗" in text for text in updates)
            assert "所要" in updates[-1]
        finally:
            with psycopg.connect(
                archive.config.source_for(dbname=connection.settings_dict["NAME"]), autocommit=True
            ) as conn:
                for previous in TenantRestore.objects.values_list("previous_schema", flat=True):
                    if previous:
                        conn.execute(
                            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(previous))
                        )
            TenantRestore.objects.all().delete()
            Incident.objects.filter(title=f"{acme.tenant.name} のデータ復元").delete()
            Maintenance.objects.filter(title="データ復元のためのメンテナンス").delete()
            for schema in (acme.schema, globex.schema):
                with schema_context(schema):
                    Candidate.objects.filter(email__startswith=marker).delete()
