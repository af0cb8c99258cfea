"""The rush benchmark's company, students and seminars, created on a fresh database and reused after.

Imported by bench/rush.py once Django is set up.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from booking.models import Seminar, SeminarRankRule
from booking.services.seminars import seminar_create, slot_create
from candidates.models import Candidate
from tenants.models import Tenant
from tenants.services import tenant_create

SLUG = "rushbench"
RANK_SHARE = [("A", 0.3), ("B", 0.3), ("C", 0.2), ("D", 0.2)]
SPLIT = {"A": 0.4, "B": 0.4, "C": 0.2}


def tenant_ensure() -> Tenant:
    """The bench's company, on a database that is set up (a fresh clone starts from an empty one)."""
    from django.core.management import call_command

    # Migrates what any schema lacks; with nothing to do it takes about a second, however many companies.
    call_command("bootstrap", verbosity=0)
    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_create(
            name="ベンチ 予約ラッシュ", slug=SLUG, admin_email=f"admin@{SLUG}.example.jp"
        ).tenant
    return tenant


def students_ensure(count: int) -> list[tuple[int, str]]:
    """(id, rank) of `count` students of ranks A-D, created once and reused by later runs."""
    existing = list(
        Candidate.objects.filter(email__startswith="rush-").order_by("pk").values_list("pk", "rank")
    )
    if len(existing) < count:
        ranks = [rank for rank, share in RANK_SHARE for _ in range(int(share * 100))]
        Candidate.objects.bulk_create(
            (
                Candidate(
                    family_name="負荷",
                    given_name=f"学生{number}",
                    family_kana="フカ",
                    given_kana="ガクセイ",
                    email=f"rush-{number}@example.invalid",
                    rank=ranks[number % len(ranks)],
                )
                for number in range(len(existing), count)
            ),
            batch_size=2000,
        )
        existing = list(
            Candidate.objects.filter(email__startswith="rush-").order_by("pk").values_list("pk", "rank")
        )
    return existing[:count]


def seminar_new(*, title: str, slots: int, seats: int, opens_at) -> tuple[Seminar, list[int]]:
    seminar = seminar_create(title=title, place="東京本社", opens_at=opens_at)
    Seminar.objects.filter(pk=seminar.pk).update(waiting_room="auto", admission_per_second=400)
    # Rank D may see the seminar but opens a day later: its students get "not open yet".
    SeminarRankRule.objects.create(
        seminar=seminar, rank="D", visible=True, opens_at=opens_at + timedelta(days=1)
    )
    start = (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)
    quotas = {rank: int(seats * share) for rank, share in SPLIT.items()}
    ids = []
    for index in range(slots):
        slot = slot_create(
            seminar=seminar,
            starts_at=start + timedelta(days=index),
            ends_at=start + timedelta(days=index, hours=1),
            capacity=seats,
            quotas=quotas,
        )
        ids.append(slot.pk)
    return seminar, ids
