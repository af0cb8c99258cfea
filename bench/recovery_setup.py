"""Set-up of the recovery benchmark: a primary and a synchronous standby of their own, 100 companies, 100,000
students, a seminar per company, My Page links for the booking load, daphne processes in front."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from recovery import postgres

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".data" / "bench-recovery"
DATABASE = "saas"


@dataclass
class Pair:
    primary: postgres.Cluster
    standby: postgres.Cluster | None = None


def primary_start() -> Pair:
    """A fresh primary (initdb) tuned like the embedded server, summarizing WAL for incremental backups."""
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    cluster = postgres.cluster_init(pgdata=WORK / "primary")
    cluster.configure(
        max_connections=300,
        shared_buffers="256MB",
        summarize_wal="on",
        wal_sender_timeout="5s",
        max_wal_size="4GB",
    )
    postgres.hand_to_server_user(cluster.pgdata)
    cluster.start()
    with cluster.server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return Pair(primary=cluster)


def data_load(*, companies: int, students: int, bookers: int) -> dict[str, list]:
    """Companies (cloned from the template), students in bulk, one seminar each; links for `bookers` students
    of the first ten companies. Returns {slug: [(token, slot id), ...]}."""
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from booking.services.mypage import mypage_token_create
    from booking.services.seminars import seminar_create, slot_create
    from candidates.models import Candidate
    from tenants.services import tenant_create

    call_command("bootstrap", verbosity=0)
    per_company = students // companies
    links: dict[str, list] = {}
    started = time.monotonic()
    for index in range(companies):
        slug = f"rb{index:03d}"
        tenant = tenant_create(
            name=f"復旧ベンチ{index:03d}", slug=slug, admin_email=f"admin@{slug}.example.jp"
        ).tenant
        with schema_context(tenant.schema_name):
            Candidate.objects.bulk_create(
                [
                    Candidate(
                        family_name="復旧",
                        given_name=f"学生{number}",
                        family_kana="フッキュウ",
                        given_kana="ガクセイ",
                        email=f"s{number}@{slug}.example.jp",
                        rank="ABCD"[number % 4],
                    )
                    for number in range(per_company)
                ],
                batch_size=1000,
            )
            seminar = seminar_create(title="会社説明会", place="東京本社")
            start_at = _future()
            slot = slot_create(
                seminar=seminar, starts_at=start_at, ends_at=start_at + _hour(), capacity=per_company
            )
            if index < 10:
                chosen = Candidate.objects.order_by("pk")[: bookers // 10]
                links[slug] = [(mypage_token_create(candidate=candidate), slot.pk) for candidate in chosen]
        if index % 10 == 9:
            print(
                f"  {index + 1} companies, {(index + 1) * per_company:,} students ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    return links


def _future():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(days=30)


def _hour():
    from datetime import timedelta

    return timedelta(hours=1)


def servers_start(*, url: str, redis_url: str, count: int = 2) -> list[tuple[int, object]]:
    from saas.processes import child_env, daphne_start

    env = child_env(database_url=url, redis_url=redis_url, extra={"DB_POOL_MAX": "12"})
    return [daphne_start(env=env, log=WORK / f"daphne-{number}.log") for number in range(count)]
