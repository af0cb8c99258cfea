"""Provisioning: create, validate, delete tenants; the template schema; unknown hosts."""

from __future__ import annotations

import gzip
import json
import os
import time

import pytest
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Role, User
from incidents.models import StaffAuditEntry
from recovery.crypto import identity_load
from tenants.errors import TenantError
from tenants.exports import export_open, exports_prune
from tenants.models import Domain, Tenant
from tenants.services import tenant_create, tenant_delete


def test_tenant_create_clones_template_and_invites_admin(tenants, committed, mailoutbox, tmp_path):
    created = tenant_create(name="一時テスト株式会社", slug="tmp-create", admin_email="Boss@Tmp.Example.jp")
    try:
        tenant = created.tenant
        assert tenant.schema_name == "t_tmp_create"
        assert schema_exists("t_tmp_create")
        assert Domain.objects.get(tenant=tenant).domain == "tmp-create.localhost"
        with schema_context(tenant.schema_name):
            admin = User.objects.get()
            assert admin.email == "boss@tmp.example.jp"
            assert admin.role == Role.ADMIN
            assert not admin.has_usable_password()
            # The schema carries every tenant table, with migrations recorded as applied.
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'accounts'")
                assert cursor.fetchone()[0] >= 1
        assert created.invite_url.startswith("http://tmp-create.localhost")
        assert created.seconds < 10
        assert len(mailoutbox) == 1 and mailoutbox[0].to == ["boss@tmp.example.jp"]
        assert created.invite_url in mailoutbox[0].body
    finally:
        path = tenant_delete(tenant=created.tenant, confirm_slug="tmp-create", export_directory=tmp_path)
    assert not schema_exists("t_tmp_create")
    assert not Tenant.objects.filter(slug="tmp-create").exists()
    # Sealed: nothing of it is readable without the restore key; with it, every row is there.
    assert path.name.endswith(".json.gz.age") and b"boss@tmp.example.jp" not in path.read_bytes()
    assert path.stat().st_mode & 0o077 == 0
    with pytest.raises(OSError):
        gzip.open(path, "rt").read()
    rows = json.loads(export_open(path=path, identity=identity_load()))
    assert any(
        row["model"] == "accounts.user" and row["fields"]["email"] == "boss@tmp.example.jp" for row in rows
    )


@pytest.mark.parametrize(
    "slug, message",
    [
        ("A", "サブドメインは"),
        ("www", "予約"),
        ("acme", "すでに使われています"),
        ("-bad", "サブドメインは"),
        # The Kelvin sign (U+212A) lower-cases to an ASCII k: refused, never folded into "kelvin-co".
        ("\u212aelvin-co", "サブドメインは"),
        ("ac\u212ame", "サブドメインは"),
    ],
)
@pytest.mark.django_db
def test_tenant_create_refuses_bad_slugs(tenants, slug, message):
    with pytest.raises(TenantError) as error:
        tenant_create(name="X社", slug=slug, admin_email="a@b.jp")
    assert message in error.value.message
    assert not Tenant.objects.filter(slug="kelvin-co").exists()


@pytest.mark.django_db
def test_tenant_delete_needs_confirmation(tenants):
    with pytest.raises(TenantError):
        tenant_delete(tenant=tenants["acme"].tenant, confirm_slug="globex")
    assert schema_exists(tenants["acme"].schema)


@pytest.mark.django_db
def test_unknown_host_gets_plain_404(client, tenants):
    response = client.get("/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    body = response.content.decode()
    assert "アクメ" not in body and "新卒採用管理" not in body and "support" not in body
    # A host outside ALLOWED_HOSTS gets the same page, not a 400 with details.
    assert client.get("/", HTTP_HOST="evil.example.com").status_code == 404


@pytest.mark.django_db
def test_support_page_creates_tenant(client, tenants):
    staff = User.objects.create_user(
        username="s@localhost", email="staff-create@localhost", password="x" * 12, is_staff=True
    )
    # Rolled back with the test; support staff are deactivated, never deleted (tenant tables point at users).
    client.force_login(staff)
    device = TOTPDevice.objects.create(user=staff, name="test", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id  # second factor verified
    session.save()
    response = client.post(
        "/support/tenants/",
        {"name": "ページ作成株式会社", "slug": "page-made", "admin_email": "hr@page.example.jp"},
        HTTP_HOST="localhost",
    )
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="page-made")
    page = client.get("/support/tenants/", HTTP_HOST="localhost").content.decode()
    assert "ページ作成株式会社" in page and "page-made.localhost" in page
    refused = client.post(
        f"/support/tenants/{tenant.slug}/delete/", {"confirm_slug": "wrong"}, HTTP_HOST="localhost"
    )
    assert refused.status_code == 200 and "正確に入力" in refused.content.decode()
    done = client.post(
        f"/support/tenants/{tenant.slug}/delete/", {"confirm_slug": "page-made"}, HTTP_HOST="localhost"
    )
    assert done.status_code == 302
    assert not Tenant.objects.filter(slug="page-made").exists()
    # Both are in the support staff's audit log, with who did it.
    audited = StaffAuditEntry.objects.filter(target="Tenant:page-made").order_by("pk")
    assert [(entry.action, entry.actor) for entry in audited] == [
        ("tenant.create", "staff-create@localhost"),
        ("tenant.delete", "staff-create@localhost"),
    ]
    assert audited[1].detail["export"].startswith("page-made-")


@pytest.mark.django_db
def test_support_pages_need_staff_and_a_second_factor(client, tenants):
    response = client.get("/support/tenants/", HTTP_HOST="localhost")
    assert response.status_code == 302 and "/support/login/" in response["Location"]
    staff = User.objects.create_user(
        username="p@localhost", email="p@localhost", password="x" * 12, is_staff=True
    )
    client.force_login(staff)
    response = client.get("/support/tenants/", HTTP_HOST="localhost")
    assert response.status_code == 302 and "/support/otp/" in response["Location"]


def test_old_exports_are_removed(tmp_path, settings):
    settings.EXPORT_KEEP_DAYS = 30
    old, fresh, legacy = (tmp_path / name for name in ("a-1.json.gz.age", "b-2.json.gz.age", "c-3.json.gz"))
    for path in (old, fresh, legacy):
        path.write_bytes(b"x")
    month_ago = time.time() - 31 * 24 * 3600
    os.utime(old, (month_ago, month_ago))
    os.utime(legacy, (month_ago, month_ago))
    assert exports_prune(directory=tmp_path) == 2
    assert [path.name for path in tmp_path.iterdir()] == ["b-2.json.gz.age"]
