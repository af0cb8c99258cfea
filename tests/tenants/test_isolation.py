"""Isolation between companies: same primary keys, sessions, tokens, cache, files, websockets."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import schema_context

from accounts.models import User
from notifications.services import recruiters_push
from tests.conftest import DEMO_PASSWORD


@pytest.mark.django_db
def test_same_primary_keys_in_two_schemas_stay_apart(tenants):
    with schema_context(tenants["acme"].schema):
        acme_admin = User.objects.get(email=tenants["acme"].admin_email)
    with schema_context(tenants["globex"].schema):
        globex_admin = User.objects.get(email=tenants["globex"].admin_email)
        # Same primary key, another company: the row is globex's own.
        assert User.objects.get(pk=acme_admin.pk).email == tenants["globex"].admin_email
        assert not User.objects.filter(email=tenants["acme"].admin_email).exists()
    assert acme_admin.pk == globex_admin.pk


@pytest.mark.django_db
def test_recruiter_session_of_a_opens_nothing_on_b(client, tenants):
    acme, globex = tenants["acme"], tenants["globex"]
    login = client.post(
        "/login/", {"username": acme.admin_email, "password": DEMO_PASSWORD}, HTTP_HOST=acme.host
    )
    assert login.status_code == 302
    assert client.get("/home/", HTTP_HOST=acme.host).status_code == 200
    # The same cookie jar on globex's host: the session key means nothing in globex's schema.
    response = client.get("/home/", HTTP_HOST=globex.host)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    # globex's admin with acme's password is refused: accounts do not cross companies.
    refused = client.post(
        "/login/", {"username": acme.admin_email, "password": DEMO_PASSWORD}, HTTP_HOST=globex.host
    )
    assert refused.status_code == 200 and "正しくありません" in refused.content.decode()


@pytest.mark.django_db
def test_password_set_token_of_a_is_void_on_b(client, tenants):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(acme.schema):
        user = User.objects.get(email=acme.admin_email)
        token = default_token_generator.make_token(user)
    path = f"/accounts/password/{urlsafe_base64_encode(force_bytes(user.pk))}/{token}/"
    on_b = client.get(path, HTTP_HOST=globex.host, follow=True)
    assert "無効" in on_b.content.decode()
    on_a = client.get(path, HTTP_HOST=acme.host, follow=True)
    assert "新しいパスワード" in on_a.content.decode()


@pytest.mark.django_db
def test_cache_entries_carry_the_tenant(tenants):
    with schema_context(tenants["acme"].schema):
        cache.set("isolation-probe", "acme-secret", 30)
        assert cache.get("isolation-probe") == "acme-secret"
    with schema_context(tenants["globex"].schema):
        assert cache.get("isolation-probe") is None
    with schema_context(tenants["acme"].schema):
        cache.delete("isolation-probe")


@pytest.mark.django_db
def test_files_are_stored_per_tenant(tenants):
    with schema_context(tenants["acme"].schema):
        name = default_storage.save("isolation/probe.txt", ContentFile(b"acme only"))
        acme_path = default_storage.path(name)
    try:
        with schema_context(tenants["globex"].schema):
            assert not default_storage.exists(name)
            assert default_storage.path(name) != acme_path
    finally:
        with schema_context(tenants["acme"].schema):
            default_storage.delete(name)


def _login_cookie(server, host: str, email: str) -> str:
    with server.http(host) as http:
        page = http.get("/login/")
        csrf = http.cookies["csrftoken"]
        response = http.post(
            "/login/",
            data={"username": email, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": csrf},
            headers={"Referer": server.url(host, "/login/")},
        )
        assert page.status_code == 200 and response.status_code == 302, response.text[:300]
        return f"sessionid={http.cookies['sessionid']}"


async def _recv_json(socket, timeout: float) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


def test_websocket_groups_never_cross_tenants(live_server_daphne, tenants):
    server = live_server_daphne
    acme, globex = tenants["acme"], tenants["globex"]
    acme_cookie = _login_cookie(server, acme.host, acme.admin_email)
    globex_cookie = _login_cookie(server, globex.host, globex.admin_email)

    async def scenario() -> None:
        async with (
            server.ws_connect(
                acme.host,
                "/ws/events/",
                origin=f"http://{acme.host}:{server.port}",
                additional_headers={"Cookie": acme_cookie},
            ) as on_acme,
            server.ws_connect(
                globex.host,
                "/ws/events/",
                origin=f"http://{globex.host}:{server.port}",
                additional_headers={"Cookie": globex_cookie},
            ) as on_globex,
        ):
            assert (await _recv_json(on_acme, 5))["tenant"] == "acme"
            assert (await _recv_json(on_globex, 5))["tenant"] == "globex"
            await asyncio.to_thread(
                recruiters_push, tenant=acme.tenant, event={"type": "banner", "text": "acme only"}
            )
            assert (await _recv_json(on_acme, 5))["text"] == "acme only"
            with pytest.raises(TimeoutError):
                await _recv_json(on_globex, 1.0)

    asyncio.run(scenario())


def test_websocket_with_acme_session_on_globex_is_refused(live_server_daphne, tenants):
    server = live_server_daphne
    acme, globex = tenants["acme"], tenants["globex"]
    acme_cookie = _login_cookie(server, acme.host, acme.admin_email)

    async def scenario() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with server.ws_connect(
                globex.host,
                "/ws/events/",
                origin=f"http://{globex.host}:{server.port}",
                additional_headers={"Cookie": acme_cookie},
            ):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "host_kind, origin_kind",
    [
        ("acme", "foreign"),  # another site
        ("acme", "globex"),  # another company of ours
        ("acme", "none"),  # no Origin at all
        ("unknown", "same"),  # a host that is no company
    ],
)
def test_websocket_refuses_foreign_origins_and_unknown_hosts(
    live_server_daphne, tenants, host_kind, origin_kind
):
    server = live_server_daphne
    host = tenants["acme"].host if host_kind == "acme" else "nobody.localhost"
    cookie = _login_cookie(server, tenants["acme"].host, tenants["acme"].admin_email)
    origin = {
        "foreign": "http://evil.example.com",
        "globex": f"http://{tenants['globex'].host}:{server.port}",
        "none": None,
        "same": f"http://{host}:{server.port}",
    }[origin_kind]

    async def scenario() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with server.ws_connect(
                host, "/ws/events/", origin=origin, additional_headers={"Cookie": cookie}
            ):
                pass

    asyncio.run(scenario())


def test_unknown_host_over_http_is_a_plain_404(live_server_daphne):
    with live_server_daphne.http("nobody.localhost") as http:
        response = http.get("/")
    assert response.status_code == 404
    assert "新卒採用管理" not in response.text
