"""Rush dashboard: per-second counters, the snapshot (PostgreSQL + Redis), the live page and the waiting-room form."""

from __future__ import annotations

import logging
import time

import pytest
import time_machine
from django.conf import settings
from django_tenants.utils import schema_context

from booking.clients import metrics_clients_forget
from booking.models import POOL, Booking, Seminar, SlotQuota
from booking.rush import metrics
from booking.rush.metrics import metrics_client, rate_key, room_key, rush_mark, rush_snapshot
from booking.seatcounter import SeatCounter
from booking.services import booking_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make
from tests.conftest import DEMO_PASSWORD, free_port


def _forget(schema: str, seminar_id: int) -> None:
    """Drop this seminar's rush keys (ids restart with a fresh test database; old keys must not count)."""
    client = metrics_client()
    prefix = settings.RUSH_KEY_PREFIX
    for pattern in ("rate", "room", "seats"):
        keys = list(client.scan_iter(match=f"{prefix}{pattern}:{schema}:{seminar_id}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


@pytest.fixture
def rush_seminar(acme):
    with schema_context(acme.schema):
        seminar = seminar_make(title="ラッシュ説明会", quotas={"A": 3, "B": 2, POOL: 2}, slots=2, capacity=7)
    _forget(acme.schema, seminar.pk)
    yield seminar
    _forget(acme.schema, seminar.pk)


@pytest.fixture
def closed_redis(settings):
    """RUSH_REDIS_URL pointed at a port nobody listens on (the metrics client is cached per URL)."""
    settings.RUSH_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    yield settings.RUSH_REDIS_URL
    metrics_clients_forget()


def _login(client, info, email: str) -> None:
    response = client.post("/login/", {"username": email, "password": DEMO_PASSWORD}, HTTP_HOST=info.host)
    assert response.status_code == 302


# --- counting -------------------------------------------------------------------------------------------


def test_mark_counts_in_the_bucket_of_the_second(tenants, acme):
    seminar_id = 987_654
    _forget(acme.schema, seminar_id)
    second = int(time.time()) - 7
    try:
        with time_machine.travel(second + 0.4, tick=False):
            for _ in range(3):
                rush_mark(schema=acme.schema, seminar_id=seminar_id, kind="booked")
            rush_mark(schema=acme.schema, seminar_id=seminar_id, kind="booked", count=5)
            rush_mark(schema=acme.schema, seminar_id=seminar_id, kind="full", count=2)
        key = f"{settings.RUSH_KEY_PREFIX}rate:{acme.schema}:{seminar_id}:booked:{second}"
        assert key == rate_key(schema=acme.schema, seminar_id=seminar_id, kind="booked", second=second)
        client = metrics_client()
        assert client.get(key) == b"8"
        assert (
            client.get(rate_key(schema=acme.schema, seminar_id=seminar_id, kind="full", second=second))
            == b"2"
        )
        assert 290 <= client.ttl(key) <= 300
        # Another company's seminar with the same id has its own buckets.
        other = rate_key(schema=tenants["globex"].schema, seminar_id=seminar_id, kind="booked", second=second)
        assert client.get(other) is None
        # An unknown kind is ignored, not counted and not raised.
        rush_mark(schema=acme.schema, seminar_id=seminar_id, kind="bogus")
        assert not list(
            client.scan_iter(match=f"{settings.RUSH_KEY_PREFIX}rate:{acme.schema}:{seminar_id}:bogus:*")
        )
    finally:
        _forget(acme.schema, seminar_id)


def test_rates_per_second_over_complete_seconds_and_five_minute_totals(
    acme, rush_seminar, django_assert_max_num_queries
):
    now = int(time.time())

    def mark_at(second: int, kind: str, count: int) -> None:
        with time_machine.travel(second + 0.5, tick=False):
            rush_mark(schema=acme.schema, seminar_id=rush_seminar.pk, kind=kind, count=count)

    mark_at(now - 1, "booked", 30)
    mark_at(now - 10, "booked", 10)  # the oldest of the 10 complete seconds: in the rate
    mark_at(now - 11, "booked", 1000)  # before the rate window, inside the 5 minutes
    mark_at(now, "booked", 7)  # the current, incomplete second: in the total only
    mark_at(now - 300, "booked", 9999)  # older than 5 minutes: in neither
    mark_at(now - 2, "full", 5)
    mark_at(now - 3, "queued", 40)
    mark_at(now - 3, "admitted", 20)
    with time_machine.travel(now + 0.5, tick=False), schema_context(acme.schema):
        # search_path, the seminar's settings, its slots, their quota rows: however many slots there are.
        with django_assert_max_num_queries(4):
            snapshot = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk, seconds=10)
        three = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk, seconds=3)
    assert snapshot.redis_available
    assert snapshot.rates["booked"] == 4.0  # (30 + 10) / 10
    assert snapshot.totals["booked"] == 30 + 10 + 1000 + 7
    assert snapshot.rates["full"] == 0.5 and snapshot.totals["full"] == 5
    assert snapshot.rates["queued"] == 4.0 and snapshot.rates["admitted"] == 2.0
    assert snapshot.rates["error"] == 0.0 and snapshot.totals["error"] == 0
    assert set(snapshot.rates) == set(metrics.KINDS)
    assert three.rates["booked"] == 10.0 and three.rates["full"] == round(5 / 3, 2)
    data = snapshot.as_dict()
    assert data["rates"]["booked"] == 4.0 and data["totals"]["full"] == 5


# --- the snapshot ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("committed")
def test_snapshot_seats_match_postgres_and_redis_after_real_bookings(tenants):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(title="ラッシュ実予約", quotas={"A": 3, "B": 2, POOL: 2}, slots=2, capacity=7)
        first_slot, second_slot = seminar.slots.order_by("starts_at")
        students = [candidate_make(rank="A") for _ in range(4)] + [candidate_make(rank="B")]
    _forget(acme.schema, seminar.pk)
    try:
        with schema_context(acme.schema):
            before = rush_snapshot(schema=acme.schema, seminar_id=seminar.pk)
            assert before.counters_loaded is False
            assert all(q.redis_remaining is None for s in before.slots for q in s.quotas)
            # Outside a transaction booking_create goes through the Redis counters (which it loads).
            outcomes = [booking_create(candidate=s, slot_id=first_slot.pk) for s in students]
            assert [o.kind for o in outcomes] == ["booked"] * 5
            snapshot = rush_snapshot(schema=acme.schema, seminar_id=seminar.pk)
            in_postgres = {
                (q.slot_id, q.rank): (q.seats, q.taken, q.seats - q.taken)
                for q in SlotQuota.objects.filter(slot__seminar=seminar)
            }
        assert snapshot.redis_available and snapshot.counters_loaded
        shown = {
            (s.slot_id, q.rank): (q.seats, q.taken, q.remaining) for s in snapshot.slots for q in s.quotas
        }
        assert shown == in_postgres
        assert shown[(first_slot.pk, "A")] == (3, 3, 0)
        assert shown[(first_slot.pk, POOL)] == (2, 1, 1)  # the fourth A student took the shared pool
        assert shown[(first_slot.pk, "B")] == (2, 1, 1)
        assert shown[(second_slot.pk, "A")] == (3, 0, 3)
        first = snapshot.slots[0]
        assert first.slot_id == first_slot.pk
        assert [q.label for q in first.quotas] == ["A", "B", "共有枠"]  # one word for the shared pool on every page
        assert (first.seats, first.taken, first.remaining) == (7, 5, 2)
        # The Redis column is there and agrees after the bookings.
        for slot in snapshot.slots:
            for quota in slot.quotas:
                assert quota.redis_remaining == quota.remaining, (slot.slot_id, quota.rank)
        assert not snapshot.differs and snapshot.redis_remaining == snapshot.remaining == 14 - 5
        counter = SeatCounter(seminar_id=seminar.pk, schema=acme.schema)
        a_quota = next(q for q in first.quotas if q.rank == "A")
        assert counter.remaining(quota_ids=[a_quota.quota_id]) == {a_quota.quota_id: 0}
        # A seat changed behind the counters' back: the dashboard shows the difference.
        with schema_context(acme.schema):
            SlotQuota.objects.filter(pk=a_quota.quota_id).update(taken=2)
            drifted = rush_snapshot(schema=acme.schema, seminar_id=seminar.pk)
        row = next(q for q in drifted.slots[0].quotas if q.rank == "A")
        assert (row.remaining, row.redis_remaining, row.differs) == (1, 0, True)
        assert drifted.as_dict()["quota"][str(a_quota.quota_id)]["differs"] is True
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk__in=[s.pk for s in students]).delete()
        _forget(acme.schema, seminar.pk)


def test_queue_length_and_room_state_from_the_room_keys(acme, rush_seminar):
    client = metrics_client()

    def key(name: str) -> str:
        return room_key(schema=acme.schema, seminar_id=rush_seminar.pk, name=name)

    empty = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk)
    assert (empty.queue_length, empty.tickets_issued, empty.admitted_up_to) == (0, 0, 0)
    # The default setting is "auto": without the key the room waits for a slowdown.
    assert empty.room_setting == "auto" and empty.room_active is False
    assert empty.room_label == "待機中（混雑すると自動で開きます）"
    client.set(key("tail"), 120)
    client.set(key("head"), 45)
    client.set(key("on"), b"auto")
    busy = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk)
    assert key("tail") == f"{settings.RUSH_KEY_PREFIX}room:{acme.schema}:{rush_seminar.pk}:tail"
    assert busy.queue_length == 75 and busy.room_active and busy.room_mode == "auto"
    assert busy.room_label == "稼働中（自動）"
    assert busy.as_dict()["queue"] == {
        "length": 75,
        "tickets_issued": 120,
        "admitted_up_to": 45,
        "active": True,
        "mode": "auto",
        "label": "稼働中（自動）",
        "setting": "auto",
        "setting_label": "混雑時に自動",
        "admission_per_second": 300,
        "latency_ms": 500,
    }
    client.set(key("on"), b"manual")
    client.set(key("head"), 130)  # admitted past the last ticket: nobody waits
    manual = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk)
    assert manual.queue_length == 0 and manual.room_label == "稼働中（手動）"
    client.delete(key("on"), key("head"))
    closed = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk)
    assert closed.queue_length == 120 and closed.room_active is False
    # The setting wins as it does in the gate: "on" is active without the key, "off" never is.
    with schema_context(acme.schema):
        Seminar.objects.filter(pk=rush_seminar.pk).update(waiting_room="on")
        always = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk)
        client.set(key("on"), b"auto")
        Seminar.objects.filter(pk=rush_seminar.pk).update(waiting_room="off")
        off = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk)
    assert always.room_active is True and always.room_label == "稼働中（常に使う設定）"
    assert off.room_active is False and off.room_label == "停止中（使わない設定）"


def test_redis_unreachable_marks_stay_silent_and_snapshot_answers_from_postgres(
    acme, rush_seminar, closed_redis, caplog, monkeypatch, client
):
    monkeypatch.setattr(metrics, "_last_warning", float("-inf"))
    with schema_context(acme.schema):
        student = candidate_make(rank="B", family_name="秘密", email="secret-student@example.jp")
        booking_create(candidate=student, slot_id=rush_seminar.slots.order_by("starts_at")[0].pk)
    caplog.set_level(logging.WARNING, logger="booking.rush.metrics")
    started = time.monotonic()
    for _ in range(5):
        assert rush_mark(schema=acme.schema, seminar_id=rush_seminar.pk, kind="booked") is None
    assert time.monotonic() - started < 2.5
    warnings = [r for r in caplog.records if r.name == "booking.rush.metrics"]
    assert len(warnings) == 1 and "redis unavailable" in warnings[0].getMessage()
    snapshot = rush_snapshot(schema=acme.schema, seminar_id=rush_seminar.pk)
    assert snapshot.redis_available is False
    assert snapshot.rates == {} and snapshot.totals == {} and snapshot.queue_length is None
    assert snapshot.room_label.startswith("不明")
    first = snapshot.slots[0]
    assert {q.rank: (q.seats, q.taken) for q in first.quotas} == {"A": (3, 0), "B": (2, 1), POOL: (2, 0)}
    assert all(q.redis_remaining is None for q in first.quotas)
    assert "秘密" not in caplog.text and "secret-student" not in caplog.text
    # The page and the JSON still answer, and say Redis is away.
    _login(client, acme, acme.admin_email)
    page = client.get(f"/booking/seminars/{rush_seminar.pk}/rush/", HTTP_HOST=acme.host)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<p id="rush-redis-down" class="notice error" role="status">ライブ集計に接続できません' in html
    data = client.get(f"/booking/seminars/{rush_seminar.pk}/rush.json", HTTP_HOST=acme.host).json()
    assert data["redis_available"] is False and data["rates"]["booked"] is None
    assert data["slots"][0]["taken"] == 1


# --- the page and the JSON --------------------------------------------------------------------------------


# --- the live page in a browser -----------------------------------------------------------------------------


def _book_in_thread(schema: str, candidate, slot_id: int) -> None:
    from django.db import connection

    try:
        with schema_context(schema):
            booking_create(candidate=candidate, slot_id=slot_id)
    finally:
        connection.close()


@pytest.mark.browser
def test_live_page_updates_every_second_and_says_when_the_poll_fails(live_server_daphne, tenants, committed):
    from concurrent.futures import ThreadPoolExecutor

    from playwright.sync_api import expect, sync_playwright

    from tests.booking.test_browser import CHROMIUM_ARGS

    acme = tenants["acme"]
    server = live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(title="ラッシュ画面の確認", quotas={"A": 2, POOL: 1}, capacity=3)
        slot = seminar.slots.get()
        a_quota = SlotQuota.objects.get(slot=slot, rank="A")
        student = candidate_make(rank="A")
    _forget(acme.schema, seminar.pk)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(locale="ja-JP")
                page = context.new_page()
                page.goto(server.url(acme.host, "/login/"))
                page.fill("#id_username", acme.admin_email)
                page.fill("input[name=password]", DEMO_PASSWORD)
                with page.expect_navigation():
                    page.get_by_role("button", name="ログイン", exact=True).click()
                page.goto(server.url(acme.host, f"/booking/seminars/{seminar.pk}/rush/"))
                expect(page.locator("h1")).to_have_text("予約ラッシュ: ラッシュ画面の確認")
                remaining = page.locator(f'[data-bind="quota.{a_quota.pk}.remaining"]')
                in_redis = page.locator(f'[data-bind="quota.{a_quota.pk}.redis_remaining"]')
                expect(remaining).to_have_text("2")
                expect(in_redis).to_have_text("—")
                # The waiting room fills, answers are counted, a student books: all without a reload.
                metrics_client().set(room_key(schema=acme.schema, seminar_id=seminar.pk, name="tail"), 50)
                metrics_client().set(room_key(schema=acme.schema, seminar_id=seminar.pk, name="head"), 20)
                metrics_client().set(room_key(schema=acme.schema, seminar_id=seminar.pk, name="on"), b"auto")
                rush_mark(schema=acme.schema, seminar_id=seminar.pk, kind="full", count=12)
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(_book_in_thread, acme.schema, student, slot.pk).result()
                expect(page.locator('[data-bind="queue.length"]')).to_have_text("30", timeout=4_000)
                expect(page.locator('[data-bind="queue.label"]')).to_have_text("稼働中（自動）")
                expect(page.locator('[data-bind="totals.full"]')).to_have_text("12")
                expect(remaining).to_have_text("1")
                expect(in_redis).to_have_text("1")
                expect(page.locator("#rush-status")).to_contain_text("時点の数値です")
                # The network drops the poll: a clear message, then recovery on its own.
                page.route("**/rush.json", lambda route: route.abort())
                error = page.locator("#rush-error")
                expect(error).to_be_visible(timeout=4_000)
                expect(error).to_contain_text("最新の状況を取得できませんでした")
                page.unroute("**/rush.json")
                expect(error).to_be_hidden(timeout=8_000)
                # Signed out elsewhere: the page says so instead of showing old numbers silently.
                context.clear_cookies()
                expect(error).to_contain_text("ログインの有効期限が切れました", timeout=8_000)
                assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
            finally:
                browser.close()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk=student.pk).delete()
        _forget(acme.schema, seminar.pk)
