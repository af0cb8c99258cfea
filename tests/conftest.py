"""Shared fixtures: two tenant companies created once per session, a live daphne, and helpers."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import websockets
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from saas.celery import app as celery_app
from saas.processes import (  # noqa: F401 - tests import the launcher's helpers from here too
    ROOT,
    child_env,
    daphne_start,
    free_port,
    process_stop,
    wait_for_port,
)

LOG_DIR = ROOT / ".data" / "test-logs"
LOG_DIR.mkdir(parents=True, exist_ok=True)
DEMO_PASSWORD = "test-password-123"
TEST_SEASON_YEAR = 2027


@dataclass
class TenantInfo:
    tenant: object
    slug: str
    host: str
    schema: str
    admin_email: str


def _ensure_tenant(slug: str, name: str) -> TenantInfo:
    from accounts.models import User
    from seasons.models import Season
    from seasons.services import season_default_set
    from tenants.models import Tenant
    from tenants.services import tenant_create

    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = tenant_create(name=name, slug=slug, admin_email=f"admin@{slug}.example.jp").tenant
    with schema_context(tenant.schema_name):
        admin = User.objects.get(email=f"admin@{slug}.example.jp")
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
        # The test companies work in 27卒 unless a test says otherwise (fixtures' students graduate in 2027).
        season_default_set(season=Season.objects.get_or_create(graduation_year=TEST_SEASON_YEAR)[0])
    return TenantInfo(
        tenant=tenant,
        slug=slug,
        host=f"{slug}.{settings.BASE_DOMAIN}",
        schema=tenant.schema_name,
        admin_email=f"admin@{slug}.example.jp",
    )


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_modify_db_settings
):
    """Always the test database, whichever tests were selected.

    pytest-django creates it only when a selected test carries the django_db marker; a run of live-server
    tests alone (which write committed rows) would otherwise write into the real database.
    """
    from django.test.utils import setup_databases, teardown_databases

    from tenants.services import public_tenant_ensure, template_schema_ensure

    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases={"default"},
        )
        assert connection.settings_dict["NAME"].startswith("test_"), (
            "tests must never run on the real database"
        )
        public_tenant_ensure()
        template_schema_ensure()
    yield
    with django_db_blocker.unblock():
        _other_sessions_end(connection.settings_dict["NAME"])
        teardown_databases(db_cfg, verbosity=request.config.option.verbose)


def _other_sessions_end(name: str) -> None:
    """Sessions still open on the test database (a push thread's pooled connection, a server that has not
    exited yet) would make DROP DATABASE fail: end them first."""
    import psycopg

    settings_dict = connection.settings_dict
    try:
        with psycopg.connect(
            dbname="postgres",
            user=settings_dict["USER"] or "postgres",
            host=settings_dict["HOST"] or "127.0.0.1",
            port=settings_dict["PORT"] or 5432,
            password=settings_dict.get("PASSWORD") or None,
            autocommit=True,
        ) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
    except psycopg.Error:
        pass
    connection.close()


@pytest.fixture(scope="session")
def tenants(django_db_setup, django_db_blocker) -> dict[str, TenantInfo]:
    """Two companies, acme and globex, committed once for the whole session."""
    with django_db_blocker.unblock():
        return {
            "acme": _ensure_tenant("acme", "アクメ商事"),
            "globex": _ensure_tenant("globex", "グローベックス"),
        }


@pytest.fixture(autouse=True)
def _public_schema_after_test():
    yield
    # A test that switched schema must not leave the next one inside a tenant.
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _default_language_after_test():
    yield
    # A request in English leaves English active in this thread (LocaleMiddleware activates, nothing resets):
    # the next test's services would answer in English.
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _sign_in_failures_forgotten():
    """Failed sign-ins and link requests counted by one test (per IP and company) must not throttle a later one."""
    yield
    from django.core.cache import cache
    from django_tenants.utils import schema_context

    from accounts.throttle import signin_counters_forget_all
    from booking.services.mypage import token_hash

    try:
        signin_counters_forget_all()  # every schema at once
        for schema in ("public", "t_acme", "t_globex"):
            with schema_context(schema):
                # ...and the My Page link requests counted per client (tests all come from 127.0.0.1).
                cache.delete(f"booking:link-request-client:{token_hash('127.0.0.1')}")
    except Exception:  # noqa: BLE001 - a test that stopped Redis on purpose leaves nothing to forget
        pass


@pytest.fixture
def committed(django_db_blocker):
    """Let a test write committed rows (for live servers in other processes); it cleans up itself."""
    with django_db_blocker.unblock():
        yield


def database_url_for_tests() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def ws_url(self, host: str, path: str) -> str:
        return f"ws://{host}:{self.port}{path}"

    def http(self, host: str, **kwargs) -> httpx.Client:
        """An HTTP client for a company host; it connects to loopback, so no resolver for *.localhost is needed."""
        headers = {"Host": f"{host}:{self.port}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers=headers, **kwargs)

    @staticmethod
    def mypage_sign_in(http: httpx.Client, token: str) -> httpx.Response:
        """A student opening their personal link and pressing its sign-in button (the POST's answer)."""
        http.get(f"/my/login/{token}/")
        return http.post(
            f"/my/login/{token}/", data={"csrfmiddlewaretoken": http.cookies.get("csrftoken", "")}
        )

    def ws_connect(self, host: str, path: str, **kwargs):
        """A websockets client for a company host, connecting to loopback with the right Host header."""
        return websockets.connect(self.ws_url(host, path), host="127.0.0.1", port=self.port, **kwargs)


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server or worker process of the tests: the test database and Redis."""
    return child_env(database_url=database_url_for_tests(), redis_url=settings.REDIS_URL, extra=extra)


def start_daphne(
    *, extra_env: dict[str, str] | None = None, application: str = "saas.asgi:application"
) -> LiveServer:
    port = free_port()
    _, process = daphne_start(
        env=server_env(extra_env), application=application, port=port, log=LOG_DIR / f"daphne-{port}.log"
    )
    return LiveServer(port=port, process=process)


def stop_process(process: subprocess.Popen) -> None:
    process_stop(process)


@pytest.fixture(scope="session")
def live_server_daphne(tenants) -> Iterator[LiveServer]:
    """One daphne serving the test database for the whole session (HTTP and websockets)."""
    server = start_daphne()
    yield server
    stop_process(server.process)


# Eager Celery, on-commit callbacks and a webhook receiver: the incidents and webhooks tests share them.
@pytest.fixture
def eager_celery() -> Iterator[None]:
    before = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (notifications) inside the test transaction, as a commit would."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


@dataclass
class Receiver:
    url: str
    requests: list[dict] = field(default_factory=list)
    fail_first: int = 0
    fail_status: int = 503


@pytest.fixture
def webhook_receiver(settings) -> Iterator[Receiver]:
    """A real local HTTP server recording what it receives (optionally failing the first requests).

    Its exact address and port are exempt from the public-destinations rule (saas/egress.py). A test starts
    with no delivery run marked as queued: an earlier test's mark (kept 60 s, webhooks/events.py) would make
    this test's commits rely on a run that never comes.
    """
    from django_redis import get_redis_connection

    from webhooks.events import _kick_key

    redis = get_redis_connection("default")
    for key in redis.scan_iter(match=_kick_key("*")):
        redis.delete(key)
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            state.requests.append(
                {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            )
            status = state.fail_status if len(state.requests) <= state.fail_first else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(json.dumps({"ok": status == 200}).encode())

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    settings.OUTGOING_HTTP_ALLOW = [f"127.0.0.1:{server.server_address[1]}"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
