"""Health probes of the watchdog: each raises on failure and never touches Django's database connection."""

from __future__ import annotations

import asyncio
import smtplib
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import psycopg
import redis
from django.conf import settings
from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class ProbeSpec:
    """What a sustained failure of a probe means for the status page."""

    title: str  # a msgid: the incident's Japanese title, its English one from the catalogue
    components: tuple[str, ...]
    impact: str
    component_status: str


SPECS: dict[str, ProbeSpec] = {
    "postgres": ProbeSpec(
        gettext_noop("データベースの障害"), ("web", "mypage", "jobs"), "critical", "major_outage"
    ),
    "redis": ProbeSpec(
        gettext_noop("キャッシュ・キューサーバーの障害"), ("live", "jobs", "email"), "major", "major_outage"
    ),
    "channels": ProbeSpec(gettext_noop("リアルタイム更新の障害"), ("live",), "minor", "partial_outage"),
    "celery": ProbeSpec(
        gettext_noop("バックグラウンド処理の停止"), ("jobs", "email", "import"), "major", "partial_outage"
    ),
    "smtp": ProbeSpec(gettext_noop("メール送信サーバーの障害"), ("email",), "major", "major_outage"),
    "web": ProbeSpec(gettext_noop("Web 画面の応答遅延・エラー"), ("web", "mypage"), "major", "degraded"),
    # Without it the rush path books through PostgreSQL alone: slower at the opening second, still correct.
    "rush_redis": ProbeSpec(
        gettext_noop("説明会予約（受付開始時の混雑対応）の障害"), ("mypage",), "major", "degraded"
    ),
    # Per company (its own requests' error rate and latency): the incident names the affected companies only.
    "traffic": ProbeSpec(
        gettext_noop("Web 画面のエラー・応答遅延（一部の企業）"), ("web", "mypage"), "major", "degraded"
    ),
}
TIMEOUT = 2.0


class PostgresProbe:
    name = "postgres"

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def check(self) -> None:
        with psycopg.connect(self.conninfo, connect_timeout=int(TIMEOUT), autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()


class RedisProbe:
    name = "redis"

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)

    def check(self) -> None:
        if not self.client.ping():
            raise RuntimeError("no PONG")


class RushRedisProbe(RedisProbe):
    """The rush path's own Redis (RUSH_REDIS_URL), when it is another server than REDIS_URL's."""

    name = "rush_redis"


def _server(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "localhost", parts.port or 6379)


class ChannelsProbe:
    """Round trip through the channel layer: send to a fresh channel and receive it back."""

    name = "channels"

    def check(self) -> None:
        from channels.layers import get_channel_layer

        async def round_trip() -> None:
            layer = get_channel_layer()
            channel = await layer.new_channel()
            token = uuid.uuid4().hex
            await layer.send(channel, {"type": "watchdog.ping", "token": token})
            message = await asyncio.wait_for(layer.receive(channel), TIMEOUT)
            if message.get("token") != token:
                raise RuntimeError("wrong message")

        asyncio.run(asyncio.wait_for(round_trip(), TIMEOUT * 2))


class CeleryProbe:
    """At least one worker answers a broadcast ping (its heartbeat)."""

    name = "celery"

    def check(self) -> None:
        from saas.celery import app

        if not app.control.ping(timeout=1.0):
            raise RuntimeError("no worker answered")


class SmtpProbe:
    name = "smtp"

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def check(self) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT) as smtp:
            code, _ = smtp.noop()
            if code != 250:
                raise RuntimeError(f"NOOP {code}")


class WebProbe:
    """The web processes answer /healthz, without errors and fast enough."""

    name = "web"

    def __init__(self, url: str, host: str, slow_seconds: float = 2.0) -> None:
        self.url, self.host, self.slow_seconds = url, host, slow_seconds

    def check(self) -> None:
        started = time.monotonic()
        response = httpx.get(self.url, headers={"Host": self.host}, timeout=TIMEOUT * 2)
        if response.status_code >= 500:
            raise RuntimeError(f"HTTP {response.status_code}")
        if time.monotonic() - started > self.slow_seconds:
            raise RuntimeError("slow")


class TrafficProbe:
    """Each company's own requests over the last minute (incidents/traffic.py): a company whose error rate or
    mean latency passes the threshold fails, the others pass. Companies without requests say nothing."""

    name = "traffic"

    def check_tenants(self) -> dict[str, str | None]:
        from incidents.traffic import traffic_last_minute

        return {schema: figures.problem() for schema, figures in traffic_last_minute().items()}


def default_probes(*, names: list[str] | None = None, web_url: str = "") -> list:
    db = settings.DATABASES["default"]
    conninfo = psycopg.conninfo.make_conninfo(
        host=db.get("HOST") or "127.0.0.1",
        port=str(db.get("PORT") or 5432),
        dbname=db["NAME"],
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        target_session_attrs=db.get("OPTIONS", {}).get("target_session_attrs"),  # the primary, when several
    )
    probes = [
        PostgresProbe(conninfo),
        RedisProbe(settings.REDIS_URL),
        ChannelsProbe(),
        CeleryProbe(),
        TrafficProbe(),
    ]
    if _server(settings.RUSH_REDIS_URL) != _server(settings.REDIS_URL):
        probes.append(RushRedisProbe(settings.RUSH_REDIS_URL))
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
        probes.append(SmtpProbe(settings.EMAIL_HOST, int(settings.EMAIL_PORT)))
    if web_url:
        probes.append(WebProbe(web_url, settings.BASE_DOMAIN))
    probes += registered_probes()
    return [probe for probe in probes if names is None or probe.name in names]


def _registered(setting: str) -> list:
    from django.utils.module_loading import import_string

    made = (import_string(path)() for path in getattr(settings, setting, ()))
    return [item for item in made if item is not None]


def registered_probes() -> list:
    """Probes other apps contribute (settings.WATCHDOG_PROBES: dotted paths of factories returning a probe, or
    None when there is nothing to watch); each brings its ProbeSpec as `spec`."""
    return _registered("WATCHDOG_PROBES")


def registered_hooks() -> list:
    """Per-round work other apps contribute (settings.WATCHDOG_HOOKS: factories of objects with tick())."""
    return _registered("WATCHDOG_HOOKS")
