"""Leak signals open one private data incident for the affected company only."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context

from incidents.models import Incident, LeakPolicy, LeakSignal, Scope, SignalKind, Visibility
from incidents.selectors import incidents_visible
from incidents.services.audit_feed import audit_feed_scan, cursor_key
from incidents.services.leak import leak_check_export, leak_check_failed_signin, leak_check_reads, window_key
from tests.incidents.helpers import tenant_client


@pytest.fixture
def acme(tenants):
    tenant = tenants["acme"].tenant
    LeakPolicy.objects.update_or_create(
        tenant=tenant,
        defaults={"export_rows": 100, "reads_per_window": 50, "window_minutes": 60, "failed_signins": 3},
    )
    # Counters live in Redis: start each test from zero.
    with schema_context(tenant.schema_name):
        for name, seconds in (
            ("reads:7", 3600),
            ("failed-signins", 900),
            ("failed-signins-fired", 900),
            ("reads:None", 3600),
        ):
            for back in (0, 1):
                cache.delete(window_key(tenant=tenant, name=name, seconds=seconds, back=back))
    return tenant


def _assert_private_to_acme(incident: Incident, tenants) -> None:
    assert (
        incident.is_data_incident
        and incident.visibility == Visibility.TENANTS
        and incident.scope == Scope.DETECTED
    )
    assert list(incident.tenants.all()) == [tenants["acme"].tenant]
    assert incident in incidents_visible(tenant=tenants["acme"].tenant)
    assert incident not in incidents_visible(tenant=tenants["globex"].tenant)
    assert incident not in incidents_visible(tenant=None)


@pytest.mark.django_db
def test_export_beyond_threshold_opens_private_data_incident(tenants, acme, client):
    assert leak_check_export(tenant=acme, actor_id=7, rows=100) is None
    signal = leak_check_export(tenant=acme, actor_id=7, rows=150, candidate_ids=[1, 2, 3])
    incident = signal.incident
    _assert_private_to_acme(incident, tenants)
    assert sorted(incident.data.students.values_list("candidate_id", flat=True)) == [1, 2, 3]
    incident.data.refresh_from_db()
    assert incident.data.people_estimate == 150
    globex_page = tenant_client(tenants["globex"]).get("/status/").content.decode()
    assert incident.title not in globex_page and "すべてのシステムは正常に稼働しています" in globex_page
    assert incident.title not in client.get("/", HTTP_HOST="status.localhost").content.decode()
    # A second signal joins the same incident.
    again = leak_check_export(tenant=acme, actor_id=7, rows=500)
    assert again.incident_id == incident.pk and Incident.objects.filter(is_data_incident=True).count() == 1


@pytest.mark.django_db
def test_bulk_reads_fire_once_when_the_window_limit_is_crossed(tenants, acme):
    assert leak_check_reads(tenant=acme, actor_id=7, rows=30) is None
    signal = leak_check_reads(tenant=acme, actor_id=7, rows=30, candidate_ids=[11])
    assert signal is not None and signal.kind == SignalKind.BULK_READ and signal.detail["rows"] == 60
    assert leak_check_reads(tenant=acme, actor_id=7, rows=30) is None
    _assert_private_to_acme(signal.incident, tenants)


def _fail(client, host: str, email: str, address: str) -> None:
    response = client.post(
        "/login/", {"username": email, "password": "wrong-password"}, HTTP_HOST=host, REMOTE_ADDR=address
    )
    assert response.status_code in (200, 429)


def _address() -> str:
    # Fresh addresses each run: the sign-in form's own throttle (Redis, 15 min) must not answer first.
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.mark.django_db
def test_failed_sign_ins_to_real_accounts_from_many_clients_are_a_signal(tenants, acme, client):
    host, email = tenants["acme"].host, tenants["acme"].admin_email
    for _attempt in range(3):
        _fail(client, host, email, _address())
    assert not LeakSignal.objects.filter(kind=SignalKind.FAILED_SIGNINS).exists()
    _fail(client, host, email, _address())
    signal = LeakSignal.objects.get(kind=SignalKind.FAILED_SIGNINS)
    assert signal.tenant == acme and signal.detail["count"] == 4
    assert leak_check_failed_signin(tenant=acme, account="x", address="y") is None  # once per window


@pytest.mark.django_db
def test_anonymous_noise_is_no_leak_signal(tenants, acme, client, settings):
    """Failures for addresses that are no account, or one client retrying one account, mail nobody."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    run = uuid.uuid4().hex[:8]
    host = tenants["acme"].host
    address = _address()
    for attempt in range(40):
        _fail(client, host, f"nobody-{run}-{attempt}@example.jp", address)
    for _attempt in range(10):
        _fail(client, host, tenants["acme"].admin_email, address)
    assert not LeakSignal.objects.filter(kind=SignalKind.FAILED_SIGNINS).exists()
    assert not Incident.objects.filter(detection_key=f"leak:{acme.pk}").exists()


@pytest.mark.django_db
def test_acme_ack_link_presented_on_globex_is_a_signal_for_acme(tenants, acme, client):
    from incidents.services.lifecycle import incident_create
    from incidents.services.notify import ack_token

    incident = incident_create(actor="ops", title="x", message_ja="x", visibility=Visibility.PUBLIC)
    token = ack_token(incident_id=incident.pk, tenant_id=acme.pk)
    assert client.get(f"/status/ack/{token}/", HTTP_HOST=tenants["globex"].host).status_code == 404
    signal = LeakSignal.objects.get(kind=SignalKind.FOREIGN_TOKEN)
    assert signal.tenant == acme and signal.detail["presented_on_tenant_id"] == tenants["globex"].tenant.pk
    _assert_private_to_acme(signal.incident, tenants)


@pytest.mark.django_db
def test_report_buttons_for_company_users_and_support(tenants, acme, staff_client):
    response = tenant_client(tenants["acme"]).post(
        "/status/leak/report/", {"note": "USB メモリを紛失しました"}
    )
    assert response.status_code == 302
    signal = LeakSignal.objects.get(kind=SignalKind.REPORTED)
    _assert_private_to_acme(signal.incident, tenants)
    assert tenant_client(tenants["acme"]).post("/status/leak/report/", {"note": ""}).status_code == 302
    assert LeakSignal.objects.filter(kind=SignalKind.REPORTED).count() == 1
    staff = staff_client.post(
        "/support/leaks/report/", {"tenant": tenants["globex"].tenant.pk, "note": "誤送信"}
    )
    assert staff.status_code == 302
    globex_incident = LeakSignal.objects.get(tenant=tenants["globex"].tenant).incident
    assert globex_incident.pk != signal.incident_id and list(globex_incident.tenants.all()) == [
        tenants["globex"].tenant
    ]


@pytest.mark.django_db
def test_audit_log_entries_feed_the_checks(tenants, acme):
    from candidates.services.audit import audit_record

    with schema_context(acme.schema_name):
        cache.delete(cursor_key())
        audit_feed_scan(tenant=acme)  # skip whatever the schema already holds
        audit_record(user=None, action="detail", student_count=1, target="#5")
        audit_record(user=None, action="export", student_count=2000, target="CSV (cp932)")
    assert audit_feed_scan(tenant=acme) == 2
    incident = LeakSignal.objects.get(kind=SignalKind.BULK_EXPORT).incident
    assert incident.data.people_estimate == 2000
    from incidents.services.appi import report_triggers

    assert "本人の数が1,000人を超える" in report_triggers(data=incident.data)
    assert audit_feed_scan(tenant=acme) == 0


def test_simultaneous_signals_open_a_single_incident(tenants, committed):
    acme = tenants["acme"].tenant
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def signal() -> None:
        try:
            barrier.wait()
            leak_check_export(tenant=acme, actor_id=1, rows=10_000)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=signal) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert Incident.objects.filter(detection_key=f"leak:{acme.pk}").count() == 1
        assert LeakSignal.objects.filter(tenant=acme).count() == 4
    finally:
        from incidents.models import StaffAuditEntry

        ids = list(Incident.objects.filter(detection_key=f"leak:{acme.pk}").values_list("pk", flat=True))
        StaffAuditEntry.objects.filter(target__in=[f"Incident:{pk}" for pk in ids]).delete()
        LeakSignal.objects.filter(tenant=acme).delete()
        Incident.objects.filter(pk__in=ids).delete()
        LeakPolicy.objects.filter(tenant=acme).delete()


@pytest.mark.django_db
def test_acme_session_cookie_presented_on_globex_is_a_signal_for_acme_only(tenants, acme):
    from django.conf import settings
    from django.test import Client

    from accounts.sessions import SessionStore

    globex = tenants["globex"]
    signed_in = tenant_client(tenants["acme"])
    acme_key = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    assert signed_in.get("/status/").status_code == 200  # the owner's own host: no signal
    # A random unknown cookie and an expired own session on globex are not signals either.
    thief = Client(HTTP_HOST=globex.host)
    thief.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert thief.get("/status/").status_code == 302
    with schema_context(globex.schema):
        own = SessionStore()
        own.create()
    thief.cookies[settings.SESSION_COOKIE_NAME] = own.session_key
    with schema_context(globex.schema):
        own.delete()
    assert thief.get("/status/").status_code == 302
    assert not LeakSignal.objects.filter(kind=SignalKind.FOREIGN_TOKEN).exists()
    # acme's live session cookie on globex: refused like any unknown session, and a signal for acme.
    thief.cookies[settings.SESSION_COOKIE_NAME] = acme_key
    response = thief.get("/status/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    signal = LeakSignal.objects.get(kind=SignalKind.FOREIGN_TOKEN)
    assert signal.tenant == acme and signal.detail == {
        "what": "session-cookie",
        "presented_on_tenant_id": globex.tenant.pk,
    }
    _assert_private_to_acme(signal.incident, tenants)
    assert not Incident.objects.filter(detection_key=f"leak:{globex.tenant.pk}").exists()
    # Presented again: still one signal (once per key and day), and acme's own session keeps working.
    thief.cookies[settings.SESSION_COOKIE_NAME] = acme_key
    thief.get("/status/")
    assert LeakSignal.objects.filter(kind=SignalKind.FOREIGN_TOKEN).count() == 1
    assert signed_in.get("/status/").status_code == 200


@pytest.mark.django_db
def test_export_through_the_workspace_records_whose_data_left_and_they_become_the_affected_students(
    tenants, acme
):
    from candidates.models import AuditEntry, Candidate
    from incidents.models import AffectedStudent

    LeakPolicy.objects.filter(tenant=acme).update(export_rows=2)
    with schema_context(acme.schema_name):
        cache.delete(cursor_key())
        audit_feed_scan(tenant=acme)  # skip whatever the schema already holds
        exported = [
            Candidate.objects.create(family_name="山田", given_name=name, rank="A", email=f"{i}@s.example.jp")
            for i, name in enumerate(["一郎", "二郎", "三郎"])
        ]
        Candidate.objects.create(family_name="山田", given_name="四郎", rank="B", email="4@s.example.jp")
        Candidate.objects.create(family_name="佐藤", given_name="花子", rank="A", email="5@s.example.jp")
    response = tenant_client(tenants["acme"]).get(
        "/candidates/export.csv", {"encoding": "utf8", "rank": "A", "q": "山田"}
    )
    assert response.status_code == 200 and len(b"".join(response.streaming_content).splitlines()) == 4
    with schema_context(acme.schema_name):
        entry = AuditEntry.objects.get(action="export")
    expected = sorted(candidate.pk for candidate in exported)
    assert entry.candidate_ids == expected and entry.student_count == 3
    # The filter is kept, the search words (could be a student's name) are not.
    assert entry.filters == {
        "rank": "A",
        "sort": "new",
        "search": True,
        "season_id": entry.filters["season_id"],
    } and "山田" not in str(entry.filters)
    assert audit_feed_scan(tenant=acme) == 1
    signal = LeakSignal.objects.get(kind=SignalKind.BULK_EXPORT)
    assert signal.candidate_ids == expected
    affected = AffectedStudent.objects.filter(data_incident=signal.incident.data)
    assert sorted(affected.values_list("candidate_id", flat=True)) == expected
    assert set(affected.values_list("tenant_id", flat=True)) == {acme.pk}
    _assert_private_to_acme(signal.incident, tenants)


@pytest.mark.django_db
def test_failed_sign_ins_on_both_sides_of_a_quarter_hour_edge_are_one_run(tenants, acme, monkeypatch):
    """The counts are kept in fixed 15-minute buckets; a run of failures across an edge is still seen, once."""
    from datetime import UTC, datetime

    from incidents.services import leak

    edge = random.randint(10**6, 10**7) * 900  # a bucket edge no other run of this test has used
    clock = [edge - 2.0]
    monkeypatch.setattr(leak.timezone, "now", lambda: datetime.fromtimestamp(clock[0], tz=UTC))
    for address in ("192.0.2.1", "192.0.2.2"):
        assert leak_check_failed_signin(tenant=acme, account="a", address=address) is None
    clock[0] = edge + 2.0
    assert leak_check_failed_signin(tenant=acme, account="a", address="192.0.2.3") is None
    signal = leak_check_failed_signin(tenant=acme, account="a", address="192.0.2.4")
    assert signal is not None and signal.detail["count"] == 4
    # The same run goes on: not said again in this quarter hour, nor in the next one.
    assert leak_check_failed_signin(tenant=acme, account="a", address="192.0.2.5") is None
    clock[0] = edge + 900 + 2.0
    assert leak_check_failed_signin(tenant=acme, account="a", address="192.0.2.6") is None
    # A quiet quarter hour later a new run is a new signal.
    clock[0] = edge + 3 * 900 + 2.0
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert leak_check_failed_signin(tenant=acme, account="a", address=address) is None
    assert leak_check_failed_signin(tenant=acme, account="a", address="198.51.100.4") is not None
