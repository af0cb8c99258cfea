"""Redis seat counters: atomic claims under real concurrency, release, rebuild and reconciliation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from booking.models import POOL, SlotQuota
from booking.seatcounter import ALREADY, CLAIMED, FULL, NOT_LOADED, SeatCounter
from tests.booking.conftest import seminar_make


@pytest.fixture
def seminar(acme_schema):
    seminar = seminar_make(quotas={"A": 40, "B": 40, POOL: 20}, capacity=100)
    counter = SeatCounter(seminar_id=seminar.pk, schema=acme_schema.schema)
    counter.load()
    yield seminar, counter
    counter.client.delete(*counter.client.keys(f"{counter.prefix}:*"))


def _quota_ids(seminar, rank: str) -> list[int]:
    quotas = {q.rank: q.pk for q in SlotQuota.objects.filter(slot__seminar=seminar)}
    return [quotas[rank], quotas[POOL]]


def test_claims_never_exceed_quota_plus_pool_under_concurrency(seminar):
    seminar, counter = seminar
    a_quotas = _quota_ids(seminar, "A")
    # 500 different rank-A students at once, on 16 threads with their own connections' worth of calls.
    with ThreadPoolExecutor(max_workers=16) as pool:
        claims = list(
            pool.map(lambda n: counter.claim(candidate_id=10_000 + n, quota_ids=a_quotas), range(500))
        )
    won = [c for c in claims if c.result == CLAIMED]
    assert len(won) == 60  # 40 of rank A, then the 20 of the shared pool
    assert sum(1 for c in won if c.quota_id == a_quotas[0]) == 40
    assert all(c.result == FULL for c in claims if c.result != CLAIMED)
    assert counter.remaining(quota_ids=a_quotas) == {a_quotas[0]: 0, a_quotas[1]: 0}
    # Rank B keeps its own 40 seats, the pool is gone.
    b_quotas = _quota_ids(seminar, "B")
    assert counter.claim(candidate_id=1, quota_ids=b_quotas).result == CLAIMED


def test_one_seat_per_student_and_release(seminar):
    seminar, counter = seminar
    quotas = _quota_ids(seminar, "A")
    first = counter.claim(candidate_id=7, quota_ids=quotas)
    again = counter.claim(candidate_id=7, quota_ids=quotas)
    assert first.result == CLAIMED and again.result == ALREADY and again.quota_id == first.quota_id
    assert counter.release(candidate_id=7, quota_id=first.quota_id)
    assert not counter.release(candidate_id=7, quota_id=first.quota_id)  # released once only
    assert counter.remaining(quota_ids=quotas)[quotas[0]] == 40


def test_missing_counters_say_not_loaded_and_rebuild_from_postgres(seminar):
    seminar, counter = seminar
    quotas = _quota_ids(seminar, "A")
    SlotQuota.objects.filter(pk=quotas[0]).update(taken=39)
    counter.drop()
    assert counter.claim(candidate_id=8, quota_ids=quotas).result == NOT_LOADED
    counter.load()
    assert counter.remaining(quota_ids=quotas)[quotas[0]] == 1
    assert counter.reconcile() == []
    counter.claim(candidate_id=8, quota_ids=quotas)
    assert any("redis 0 != postgres 1" in problem for problem in counter.reconcile())


def test_keys_carry_the_tenant(seminar, tenants):
    seminar, counter = seminar
    other = SeatCounter(seminar_id=seminar.pk, schema=tenants["globex"].schema)
    assert counter.ready_key != other.ready_key
    assert other.claim(candidate_id=1, quota_ids=_quota_ids(seminar, "A")).result == NOT_LOADED


def test_reconcile_command_reports_and_rebuilds(seminar, tenants):
    from django.core.management import CommandError, call_command

    seminar, counter = seminar
    quotas = _quota_ids(seminar, "A")
    counter.claim(candidate_id=99, quota_ids=quotas)  # a claim PostgreSQL never saw
    with pytest.raises(CommandError):
        call_command("seats_reconcile", tenant="acme", seminar=seminar.pk)
    call_command("seats_reconcile", tenant="acme", seminar=seminar.pk, rebuild=True)
    assert counter.reconcile() == []


def test_a_second_load_never_overwrites_claims_made_on_the_first(seminar):
    seminar, counter = seminar
    quotas = _quota_ids(seminar, "A")
    assert counter.claim(candidate_id=9, quota_ids=quotas).result == CLAIMED
    # Another process found the counters missing a moment ago and read PostgreSQL before this claim:
    # its copy must not replace the live one.
    assert counter.load() is False
    assert counter.remaining(quota_ids=quotas)[quotas[0]] == 39
    assert counter.claim(candidate_id=9, quota_ids=quotas).result == ALREADY
    counter.rebuild()  # the explicit rebuild of reconciliation does replace it
    assert counter.remaining(quota_ids=quotas)[quotas[0]] == 40
