"""Rush dashboard pages: the recruiter's page and JSON, who may read them, and the waiting-room settings form."""

# ruff: noqa: F811 - the fixtures are imported from tests/booking/test_rush_dashboard.py
from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role, User
from booking import errors
from booking.models import Seminar, SlotQuota, WaitingRoomMode
from booking.rush.metrics import metrics_client, room_key, rush_mark
from booking.services.seminars import seminar_waiting_room_set
from tests.booking.test_rush_dashboard import _login, acme, rush_seminar  # noqa: F401
from tests.conftest import DEMO_PASSWORD


def test_recruiter_sees_the_page_and_the_json(client, acme, rush_seminar):
    metrics_client().set(room_key(schema=acme.schema, seminar_id=rush_seminar.pk, name="tail"), 12)
    metrics_client().set(room_key(schema=acme.schema, seminar_id=rush_seminar.pk, name="head"), 2)
    metrics_client().set(room_key(schema=acme.schema, seminar_id=rush_seminar.pk, name="on"), b"manual")
    rush_mark(schema=acme.schema, seminar_id=rush_seminar.pk, kind="booked", count=3)
    _login(client, acme, acme.admin_email)
    detail = client.get(f"/booking/seminars/{rush_seminar.pk}/", HTTP_HOST=acme.host).content.decode()
    assert f'href="/booking/seminars/{rush_seminar.pk}/rush/"' in detail and "予約ラッシュ" in detail
    page = client.get(f"/booking/seminars/{rush_seminar.pk}/rush/", HTTP_HOST=acme.host)
    html = page.content.decode()
    assert page.status_code == 200
    assert "予約ラッシュ: ラッシュ説明会" in html
    assert f'data-poll="/booking/seminars/{rush_seminar.pk}/rush.json"' in html
    assert 'data-interval="1"' in html and "booking/rush.js" in html
    assert "共有枠" in html and "共通枠" not in html and "稼働中（手動）" in html and "予約成立" in html
    assert '<dd class="big" data-bind="queue.length">10</dd>' in html
    assert 'id="rush-redis-down" class="notice error" role="status" hidden' in html
    assert 'name="admission_per_second"' in html  # an admin may change the settings
    answer = client.get(f"/booking/seminars/{rush_seminar.pk}/rush.json", HTTP_HOST=acme.host)
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    data = answer.json()
    assert data["ok"] and data["redis_available"] and data["queue"]["length"] == 10
    assert data["totals"]["booked"] == 3
    with schema_context(acme.schema):
        quotas = {q.pk: q for q in SlotQuota.objects.filter(slot__seminar=rush_seminar)}
    assert {int(k) for k in data["quota"]} == set(quotas)
    assert all(data["quota"][str(pk)]["remaining"] == q.seats - q.taken for pk, q in quotas.items())
    with schema_context(acme.schema):
        slot_ids = list(rush_seminar.slots.order_by("starts_at").values_list("id", flat=True))
    assert [s["id"] for s in data["slots"]] == slot_ids
    # Every cell the script updates names a path the JSON has.
    for bind in {part.split('"')[0] for part in html.split('data-bind="')[1:]}:
        value = data
        for step in bind.split("."):
            assert step in value, bind
            value = value[step]
    assert client.get("/booking/seminars/999999/rush/", HTTP_HOST=acme.host).status_code == 404
    assert client.get("/booking/seminars/999999/rush.json", HTTP_HOST=acme.host).status_code == 404


def test_signed_out_is_redirected_and_the_json_refuses(acme, rush_seminar):
    anonymous = Client()
    page = anonymous.get(f"/booking/seminars/{rush_seminar.pk}/rush/", HTTP_HOST=acme.host)
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    answer = anonymous.get(f"/booking/seminars/{rush_seminar.pk}/rush.json", HTTP_HOST=acme.host)
    assert answer.status_code == 401 and "ログイン" in answer.json()["message"]
    assert "seats" not in answer.json()
    refused = anonymous.post(
        f"/booking/seminars/{rush_seminar.pk}/rush/",
        {"mode": "on", "admission_per_second": "10", "latency_ms": "100"},
        HTTP_HOST=acme.host,
    )
    assert refused.status_code == 302
    with schema_context(acme.schema):
        assert Seminar.objects.get(pk=rush_seminar.pk).waiting_room == WaitingRoomMode.AUTO


def test_another_companys_recruiter_cannot_read_acmes_seminar(client, tenants, acme, rush_seminar):
    globex = tenants["globex"]
    with schema_context(globex.schema):
        taken = set(Seminar.objects.values_list("pk", flat=True))
    assert rush_seminar.pk not in taken  # so a 404 below means "not this company's", not "other seminar"
    _login(client, globex, globex.admin_email)
    assert client.get(f"/booking/seminars/{rush_seminar.pk}/rush/", HTTP_HOST=globex.host).status_code == 404
    answer = client.get(f"/booking/seminars/{rush_seminar.pk}/rush.json", HTTP_HOST=globex.host)
    assert answer.status_code == 404 and "見つかりません" in answer.json()["message"]
    # globex's session means nothing on acme's host.
    assert (
        client.get(f"/booking/seminars/{rush_seminar.pk}/rush.json", HTTP_HOST=acme.host).status_code == 401
    )


# --- the waiting room's settings ----------------------------------------------------------------------------


def test_settings_form_saves_valid_values(client, acme, rush_seminar):
    _login(client, acme, acme.admin_email)
    url = f"/booking/seminars/{rush_seminar.pk}/rush/"
    saved = client.post(
        url, {"mode": "on", "admission_per_second": "1500", "latency_ms": "800"}, HTTP_HOST=acme.host
    )
    assert saved.status_code == 302 and saved["Location"] == url
    with schema_context(acme.schema):
        seminar = Seminar.objects.get(pk=rush_seminar.pk)
    assert (seminar.waiting_room, seminar.admission_per_second, seminar.waiting_room_latency_ms) == (
        "on",
        1500,
        800,
    )
    page = client.get(url, HTTP_HOST=acme.host).content.decode()
    assert "待合室の設定を保存しました。" in page
    assert '<span data-bind="queue.setting_label">常に使う</span>' in page
    assert '<span data-bind="queue.admission_per_second">1500</span>' in page
    assert "稼働中（常に使う設定）" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"mode": "on", "admission_per_second": "0", "latency_ms": "500"},
            "入場レートは 1〜100,000 人/秒の範囲",
        ),
        (
            {"mode": "on", "admission_per_second": "100001", "latency_ms": "500"},
            "入場レートは 1〜100,000 人/秒の範囲",
        ),
        ({"mode": "auto", "admission_per_second": "300", "latency_ms": "49"}, "50〜10,000 ミリ秒の範囲"),
        (
            {"mode": "auto", "admission_per_second": "abc", "latency_ms": "500"},
            "入場レートは整数で入力してください",
        ),
        (
            {"mode": "sometimes", "admission_per_second": "300", "latency_ms": "500"},
            "「使わない」「常に使う」",
        ),
    ],
)
def test_settings_form_refuses_bad_values_and_changes_nothing(client, acme, rush_seminar, data, message):
    _login(client, acme, acme.admin_email)
    response = client.post(f"/booking/seminars/{rush_seminar.pk}/rush/", data, HTTP_HOST=acme.host)
    assert response.status_code == 400
    assert message in response.content.decode()
    with schema_context(acme.schema):
        seminar = Seminar.objects.get(pk=rush_seminar.pk)
    assert (seminar.waiting_room, seminar.admission_per_second, seminar.waiting_room_latency_ms) == (
        "auto",
        300,
        500,
    )


def test_service_validates_and_raises_a_typed_error(acme, rush_seminar):
    with schema_context(acme.schema):
        with pytest.raises(errors.WaitingRoomSettingsError) as raised:
            seminar_waiting_room_set(
                seminar=rush_seminar, mode="on", admission_per_second=100_001, latency_ms=500
            )
        assert raised.value.http_status == 400 and "100,000" in raised.value.message
        for bad in (True, 2.5, None, "10人", ""):
            with pytest.raises(errors.WaitingRoomSettingsError):
                seminar_waiting_room_set(
                    seminar=rush_seminar, mode="on", admission_per_second=bad, latency_ms=500
                )
        with pytest.raises(errors.WaitingRoomSettingsError):
            seminar_waiting_room_set(
                seminar=rush_seminar, mode="on", admission_per_second=10, latency_ms=10_001
            )
        seminar = seminar_waiting_room_set(
            seminar=rush_seminar, mode=WaitingRoomMode.OFF, admission_per_second=100_000, latency_ms=50
        )
        assert Seminar.objects.filter(
            pk=rush_seminar.pk, waiting_room="off", admission_per_second=100_000, waiting_room_latency_ms=50
        ).exists()
        assert seminar.waiting_room == "off"


def test_viewer_sees_the_page_but_cannot_change_the_settings(client, acme, rush_seminar):
    with schema_context(acme.schema):
        User.objects.create_user(
            username="rush-viewer@acme.example.jp",
            email="rush-viewer@acme.example.jp",
            password=DEMO_PASSWORD,
            role=Role.VIEWER,
        )
    _login(client, acme, "rush-viewer@acme.example.jp")
    page = client.get(f"/booking/seminars/{rush_seminar.pk}/rush/", HTTP_HOST=acme.host)
    assert page.status_code == 200 and "閲覧のみの権限では変更できません" in page.content.decode()
    assert 'name="admission_per_second"' not in page.content.decode()
    assert (
        client.get(f"/booking/seminars/{rush_seminar.pk}/rush.json", HTTP_HOST=acme.host).status_code == 200
    )
    refused = client.post(
        f"/booking/seminars/{rush_seminar.pk}/rush/",
        {"mode": "off", "admission_per_second": "10", "latency_ms": "100"},
        HTTP_HOST=acme.host,
    )
    assert refused.status_code == 403 and "閲覧のみ" in refused.content.decode()
    with schema_context(acme.schema):
        assert Seminar.objects.get(pk=rush_seminar.pk).waiting_room == WaitingRoomMode.AUTO
